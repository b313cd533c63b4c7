/**
 * Helpers for e2e/instances.spec.ts: clusters of `next start` instances made from the build the
 * Playwright web server already made (`.next`, copied per instance by scripts/cluster), posts of a
 * test's own changed behind the app's back, webhooks pinned to one instance, and reads of one
 * instance timed against a moment (a webhook's 200, an instance answering).
 */
import { randomUUID } from "node:crypto";
import { mintRevalidationToken } from "../lib/revalidation/mint";
import { type Cluster, startCluster } from "../scripts/cluster/cluster";
import { PIN_HEADER, SERVED_BY_HEADER } from "../scripts/cluster/front";
import { E2E, e2eServerEnv } from "./env";

/** A cluster over the suite's build, with the e2e secrets and the given Redis endpoint. */
export function startE2ECluster(options: {
  name: string;
  upstashUrl: string;
  frontPort: number;
  instances?: number;
}): Promise<Cluster> {
  const count = options.instances ?? 3;
  return startCluster({
    env: {
      ...process.env,
      ...e2eServerEnv,
      UPSTASH_REDIS_REST_URL: options.upstashUrl,
      UPSTASH_REDIS_REST_TOKEN: E2E.upstashToken,
      KV_REST_API_URL: undefined,
      KV_REST_API_TOKEN: undefined,
    },
    instances: count,
    // The Playwright web server built `.next` with these same settings before any spec ran.
    reuseBuild: true,
    buildDir: ".next",
    dirPrefix: `.next-e2e-${options.name}`,
    frontPort: options.frontPort,
    ports: Array.from({ length: count }, (_, i) => options.frontPort + 1 + i),
    log: (line) => console.log(`[cluster ${options.name}] ${line}`),
  });
}

let token: Promise<string> | undefined;

/** A signed webhook to one instance through the front; `answeredAt` is when its response arrived. */
export async function sendWebhook(
  cluster: Cluster,
  instance: string,
  tags: string[],
  id = `e2e-cluster-${randomUUID()}`,
): Promise<{ status: number; servedBy: string | null; answeredAt: number; body: string }> {
  token ??= mintRevalidationToken({
    secret: E2E.revalidationSecret,
    issuer: "e2e-cluster",
    expiresInSeconds: 3600,
  });
  const response = await fetch(`${cluster.frontUrl}/api/revalidate`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await token}`,
      "content-type": "application/json",
      [PIN_HEADER]: instance,
    },
    body: JSON.stringify({ id, tags }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = await response.text();
  return {
    status: response.status,
    servedBy: response.headers.get(SERVED_BY_HEADER),
    answeredAt: performance.now(),
    body,
  };
}

export type PageKind = "home" | "post";

export function pathOf(kind: PageKind, slug: string): string {
  return kind === "home" ? "/" : `/posts/${slug}`;
}

/** What a read looks for in a page's HTML; `undefined` when the page does not show it at all. */
export type Look = (html: string) => string | undefined;

/** The post's title as the page shows it: the post page's heading, or its link on the home page. */
export function titleOf(kind: PageKind, slug: string): Look {
  const pattern =
    kind === "post" ? /data-testid="post-title">([^<]*)</ : new RegExp(`href="/posts/${slug}">([^<]*)<`);
  return (html) => pattern.exec(html)?.[1];
}

export type Read = {
  /** Milliseconds from the reference moment to when the response arrived. */
  at: number;
  /** How long the read took. */
  latencyMs: number;
  status: number;
  servedBy: string | null;
  /** `x-nextjs-cache` (HIT, STALE, MISS), when Next sent one. */
  cache: string | null;
  /** What `look` found. */
  shows: string | undefined;
};

/** One GET pinned to `instance`, timed against `since` (a `performance.now()`). */
export async function readPage(
  cluster: Cluster,
  instance: string,
  path: string,
  look: Look,
  since: number,
): Promise<Read> {
  const started = performance.now();
  const response = await fetch(`${cluster.frontUrl}${path}`, {
    headers: { [PIN_HEADER]: instance },
    signal: AbortSignal.timeout(15_000),
  });
  const html = await response.text();
  const arrived = performance.now();
  return {
    at: arrived - since,
    latencyMs: arrived - started,
    status: response.status,
    servedBy: response.headers.get(SERVED_BY_HEADER),
    cache: response.headers.get("x-nextjs-cache"),
    shows: look(html),
  };
}

/**
 * Reads one page of one instance every `intervalMs` until `windowMs` after `since` (a bounded
 * loop), keeping every read: the whole sequence is what the assertions look at (when it turned
 * fresh, whether it ever went back).
 */
export async function watchPage(options: {
  cluster: Cluster;
  instance: string;
  path: string;
  look: Look;
  since: number;
  windowMs: number;
  intervalMs?: number;
  /** Stop early once this many reads in a row showed `shows` (still bounded by the window). */
  stopAfter?: { shows: string; reads: number };
}): Promise<Read[]> {
  const intervalMs = options.intervalMs ?? 50;
  const reads: Read[] = [];
  let inARow = 0;
  while (performance.now() - options.since < options.windowMs) {
    const read = await readPage(options.cluster, options.instance, options.path, options.look, options.since);
    reads.push(read);
    if (options.stopAfter) {
      inARow = read.shows === options.stopAfter.shows ? inARow + 1 : 0;
      if (inARow >= options.stopAfter.reads) break;
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, intervalMs));
  }
  return reads;
}

/** Polls until the page shows `expected` (set-up, not a measurement); throws past the deadline. */
export async function waitUntilShown(
  cluster: Cluster,
  instance: string,
  path: string,
  look: Look,
  expected: string,
  timeoutMs = 15_000,
): Promise<void> {
  const reads = await watchPage({
    cluster,
    instance,
    path,
    look,
    since: performance.now(),
    windowMs: timeoutMs,
    intervalMs: 100,
    stopAfter: { shows: expected, reads: 1 },
  });
  const last = reads.at(-1);
  if (last?.shows !== expected) {
    throw new Error(
      `${instance} ${path} still shows ${JSON.stringify(last?.shows)} after ${timeoutMs} ms, not ${JSON.stringify(expected)}`,
    );
  }
}

export type Verdict = {
  /** `i2 /posts/…` */
  label: string;
  /** Milliseconds from the reference moment to the first read that showed the new content. */
  freshAt: number | undefined;
  /** Reads after the first fresh one that showed something else (older content). */
  wentBack: number;
  maxLatencyMs: number;
  reads: number;
  /** Reads that were not a 200, or not answered by the instance they were pinned to. */
  misrouted: number;
  /** A short trace for failure messages: `+312ms old, +371ms new, …` */
  trace: string;
};

export function judge(instance: string, path: string, reads: Read[], fresh: string): Verdict {
  const first = reads.findIndex((read) => read.shows === fresh);
  const label = (read: Read) => (read.shows === fresh ? "new" : read.shows === undefined ? "absent" : "old");
  const trace = reads.map(
    (read) => `+${Math.round(read.at)}ms ${label(read)}${read.cache ? `(${read.cache})` : ""}`,
  );
  return {
    label: `${instance} ${path}`,
    freshAt: first === -1 ? undefined : reads[first]?.at,
    wentBack: first === -1 ? 0 : reads.slice(first).filter((read) => read.shows !== fresh).length,
    maxLatencyMs: Math.max(0, ...reads.map((read) => read.latencyMs)),
    reads: reads.length,
    misrouted: reads.filter((read) => read.status !== 200 || read.servedBy !== instance).length,
    trace: `${trace.slice(0, 14).join(", ")}${trace.length > 14 ? ", …" : ""}`,
  };
}

/** One line per verdict, for the test's output and its failure messages. */
export function summarize(verdicts: Verdict[]): string {
  return verdicts
    .map(
      (v) =>
        `${v.label}: ${v.freshAt === undefined ? "never fresh" : `fresh at +${Math.round(v.freshAt)} ms`}, ${v.wentBack} reads went back, ${v.misrouted} misrouted, slowest read ${Math.round(v.maxLatencyMs)} ms, ${v.reads} reads [${v.trace}]`,
    )
    .join("\n");
}
