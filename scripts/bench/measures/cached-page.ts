/**
 * The cached home page against a static file of the same byte size in `public/`, served by the same
 * `next start` in the same run. `next start` lists `public/` once at start-up, so the file is
 * created (under a git-ignored-by-convention name) before the server starts and resized here.
 */
import { rmSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchContext } from "../lib/context";
import { cpuPerRequest, cpuSnapshot } from "../lib/cpu";
import { type LoadSummary, runLoad } from "../lib/load";
import { onCleanup } from "../lib/processes";

export const STATIC_FILE_NAME = "__bench-static.html";

export type CachedPageResult = {
  bytes: number;
  connections: number;
  /** The best round of each. */
  page: LoadSummary;
  staticFile: LoadSummary;
  /** Every round's req/s. */
  rounds: { page: number; staticFile: number }[];
  /** `x-nextjs-cache` of the page before the measure (HIT: served from the cache, fresh). */
  cacheState: string;
  /** Server CPU milliseconds per request, best rounds. */
  cpu: { page: number; staticFile: number };
};

/** Creates the placeholder before `next start` and removes it at the end of the run, whatever happens. */
export function createStaticPlaceholder(path: string): void {
  writeFileSync(path, "<!doctype html><title>bench</title>\n");
  onCleanup(`public/${STATIC_FILE_NAME}`, () => rmSync(path, { force: true }));
}

function staticHtml(bytes: number): string {
  const head = "<!doctype html><html><head><title>static</title></head><body><p>";
  const tail = "</p></body></html>\n";
  return head + "x".repeat(Math.max(0, bytes - head.length - tail.length)) + tail;
}

/**
 * Waits until the page is served from the cache as fresh (`x-nextjs-cache: HIT` twice in a row):
 * after revalidations it is served STALE while it re-renders, which is not what this measures.
 * With `regenerated`, hits count only after a response that was not one (the revalidation reached
 * the page and it re-rendered). Returns the last state, or "(not regenerated)" when that was asked
 * for and never seen within 30 s.
 */
export async function waitForHit(url: string, options: { regenerated?: boolean } = {}): Promise<string> {
  const deadline = Date.now() + 30_000;
  let regenerated = !options.regenerated;
  let hits = 0;
  let last = "";
  while (Date.now() < deadline) {
    const response = await fetch(url);
    await response.arrayBuffer();
    last = response.headers.get("x-nextjs-cache") ?? "(none)";
    if (last !== "HIT") regenerated = true;
    hits = regenerated && last === "HIT" ? hits + 1 : 0;
    if (hits >= 2) return last;
    await sleep(100);
  }
  return regenerated ? last : "(not regenerated)";
}

async function bodyBytes(url: string): Promise<number> {
  // No Accept-Encoding, like autocannon: both answers are measured uncompressed.
  const response = await fetch(url, { headers: { "accept-encoding": "identity" } });
  return (await response.arrayBuffer()).byteLength;
}

export async function measureCachedPage(
  context: BenchContext,
  options: {
    staticPath: string;
    durationSeconds: number;
    warmupSeconds: number;
    connections: number;
    rounds: number;
  },
): Promise<CachedPageResult> {
  const cacheState = await waitForHit(`${context.productUrl}/`);
  const bytes = await bodyBytes(`${context.productUrl}/`);
  writeFileSync(options.staticPath, staticHtml(bytes));
  const staticBytes = await bodyBytes(`${context.productUrl}/${STATIC_FILE_NAME}`);
  if (staticBytes !== bytes) {
    throw new Error(`the static file is ${staticBytes} bytes, the page ${bytes}: is it served from public/?`);
  }
  const load = (path: string, durationSeconds: number) =>
    runLoad({
      url: context.productUrl,
      connections: options.connections,
      durationSeconds,
      method: "GET",
      path,
      headers: {},
    });
  const staticPath = `/${STATIC_FILE_NAME}`;
  const run = async (path: string, durationSeconds: number) => {
    const before = cpuSnapshot(context.pids.product, undefined);
    const summary = await load(path, durationSeconds);
    const cpu = cpuPerRequest(
      before,
      cpuSnapshot(context.pids.product, undefined),
      summary.ok + summary.non2xx,
    );
    return { ...summary, serverCpu: cpu.server };
  };
  // Both warmed before either is measured: they share Next's routing code, whose JIT warm-up would
  // otherwise favour whichever runs second. Then interleaved rounds, best of each.
  await run("/", options.warmupSeconds);
  await run(staticPath, options.warmupSeconds);
  let page: (LoadSummary & { serverCpu: number }) | undefined;
  let staticFile: (LoadSummary & { serverCpu: number }) | undefined;
  const rounds: { page: number; staticFile: number }[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const p = await run("/", options.durationSeconds);
    const f = await run(staticPath, options.durationSeconds);
    rounds.push({ page: p.requestsPerSecond, staticFile: f.requestsPerSecond });
    if (!page || p.requestsPerSecond > page.requestsPerSecond) page = p;
    if (!staticFile || f.requestsPerSecond > staticFile.requestsPerSecond) staticFile = f;
  }
  if (!page || !staticFile) throw new Error("no cached-page rounds ran");
  return {
    bytes,
    connections: options.connections,
    page,
    staticFile,
    rounds,
    cpu: { page: page.serverCpu, staticFile: staticFile.serverCpu },
    cacheState,
  };
}
