/**
 * Several instances: three `next start` of the product's build (scripts/cluster, each on its own
 * copy) on the benchmark's Redis, as a self-hosted deployment runs them.
 *
 * - Webhook → fresh on all: the post is changed in Redis (as a CMS would), the webhook POSTed to
 *   i1 only, and from its 200 every instance's post page is fetched every 25 ms until it shows the
 *   change. A trial's time is its slowest instance's.
 * - Idle Redis requests: nothing is sent to any instance for a while; the local endpoint's request
 *   counter says what the instances ask Redis on their own (a shared tag state layer polls).
 * - Shared layer on vs off: home page req/s of two instances of the same build, one started with
 *   SHARED_TAG_STATE unset and one with SHARED_TAG_STATE=off, loaded one at a time.
 * - Round trips per cached hit: endpoint requests during a burst of reads that are cache hits, less
 *   what an idle instance would have asked in that time.
 */

import { setTimeout as sleep } from "node:timers/promises";
import type { Post } from "../../../lib/posts";
import { keys } from "../../../lib/redis";
import { REMARK_AFTER_MS } from "../../../lib/shared-tags/runtime";
import { type Cluster, startCluster } from "../../cluster/cluster";
import { BENCH_SLUG, type BenchContext, receiverHeaders } from "../lib/context";
import { type LoadSummary, runLoad } from "../lib/load";
import { onCleanup } from "../lib/processes";
import { waitForHit } from "./cached-page";

export const INSTANCES = 3;
export const INSTANCE_POLL_MS = 25;
const TRIAL_DEADLINE_MS = 5000;
/** When this many first trials all fail, the rest would fail the same way: stop and say so. */
const GIVE_UP_AFTER = 3;
/** The variable that switches the shared tag state layer off. */
export const LAYER_SWITCH = "SHARED_TAG_STATE";

export type InstancesResult = {
  instances: number;
  freshness: {
    trials: number;
    /** Per trial that was fresh everywhere: ms from the webhook's 200 to the slowest instance's fresh read. */
    timesMs: number[];
    /** Per instance, ms to its first fresh read, over the trials where it became fresh. */
    perInstanceMs: Record<string, number[]>;
    /** Trials where some instance was not fresh within the deadline. */
    failures: number;
    /** Instances never fresh in any trial. */
    neverFresh: string[];
    /** True when the first trials all failed and the rest were skipped. */
    gaveUp: boolean;
    deadlineMs: number;
  };
  idle: { seconds: number; requests: number; perInstancePerSecond: number; byPath: Record<string, number> };
  layer: { on: LoadSummary; off: LoadSummary; rounds: { on: number; off: number }[]; connections: number };
  hits: {
    requests: number;
    cacheStates: Record<string, number>;
    seconds: number;
    endpointRequests: number;
    /** What one idle instance asks in the burst's duration (from `idle`). */
    idleExpected: number;
    perHit: number;
  };
};

type Plan = {
  trials: number;
  idleSeconds: number;
  loadSeconds: number;
  warmupSeconds: number;
  rounds: number;
  hitRequests: number;
};

async function get(url: string): Promise<{ text: string; cache: string | null }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { text: await response.text(), cache: response.headers.get("x-nextjs-cache") };
}

/** ms from `since` to the first read of `url` that contains `marker`; undefined past the deadline. */
async function freshAfter(url: string, marker: string, since: number): Promise<number | undefined> {
  while (performance.now() - since < TRIAL_DEADLINE_MS) {
    if ((await get(url)).text.includes(marker)) return performance.now() - since;
    await sleep(INSTANCE_POLL_MS);
  }
  return undefined;
}

async function measureFreshness(
  context: BenchContext,
  cluster: Cluster,
  trials: number,
): Promise<InstancesResult["freshness"]> {
  const raw = await context.redis.get<string>(keys.post(BENCH_SLUG));
  if (typeof raw !== "string") throw new Error(`post ${BENCH_SLUG} is not in Redis`);
  const original = JSON.parse(raw) as Post;
  const instances = cluster.instances();
  const receiver = instances[0];
  if (!receiver) throw new Error("the cluster has no instance");
  const webhook = (id: string) =>
    fetch(`${receiver.url}/api/revalidate`, {
      method: "POST",
      headers: receiverHeaders(context),
      body: JSON.stringify({ id, tags: [`post:${BENCH_SLUG}`] }),
    });

  const timesMs: number[] = [];
  const perInstanceMs: Record<string, number[]> = Object.fromEntries(instances.map((i) => [i.id, []]));
  let failures = 0;
  let done = 0;
  try {
    for (; done < trials; done++) {
      if (done === GIVE_UP_AFTER && failures === GIVE_UP_AFTER) break;
      const marker = `bench-instances-${context.runId}-${done}`;
      const changed: Post = {
        ...original,
        body: `${original.body}\n\nRevision ${marker}.`,
        updatedAt: new Date().toISOString(),
      };
      await context.redis.set(keys.post(BENCH_SLUG), JSON.stringify(changed));
      const response = await webhook(marker);
      await response.arrayBuffer();
      if (response.status !== 200)
        throw new Error(`the receiver on ${receiver.id} answered ${response.status}`);
      const answeredAt = performance.now();
      const times = await Promise.all(
        instances.map((i) => freshAfter(`${i.url}/posts/${BENCH_SLUG}`, marker, answeredAt)),
      );
      times.forEach((time, index) => {
        const id = instances[index]?.id;
        if (time !== undefined && id) perInstanceMs[id]?.push(time);
      });
      if (times.every((time) => time !== undefined))
        timesMs.push(Math.max(...times.map((time) => time ?? 0)));
      else failures += 1;
    }
  } finally {
    await context.redis.set(keys.post(BENCH_SLUG), JSON.stringify(original));
    await webhook(`bench-instances-restore-${context.runId}`).then((response) => response.arrayBuffer());
  }
  return {
    trials: done,
    timesMs,
    perInstanceMs,
    failures,
    neverFresh: Object.entries(perInstanceMs)
      .filter(([, times]) => times.length === 0)
      .map(([id]) => id),
    gaveUp: done < trials,
    deadlineMs: TRIAL_DEADLINE_MS,
  };
}

async function measureIdle(context: BenchContext, seconds: number): Promise<InstancesResult["idle"]> {
  context.endpoint.resetStats();
  await sleep(seconds * 1000);
  const stats = context.endpoint.stats();
  return {
    seconds,
    requests: stats.requests,
    perInstancePerSecond: stats.requests / seconds / INSTANCES,
    byPath: stats.byPath,
  };
}

/** Cached reads of the home page and the post page on one instance, 10 at a time. */
async function measureHits(
  context: BenchContext,
  url: string,
  requests: number,
  idlePerSecond: number,
): Promise<InstancesResult["hits"]> {
  const paths = ["/", `/posts/${BENCH_SLUG}`];
  for (const path of paths) await waitForHit(`${url}${path}`);
  const cacheStates: Record<string, number> = {};
  let next = 0;
  context.endpoint.resetStats();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < requests) {
        const path = paths[next % paths.length] ?? "/";
        next += 1;
        const { cache } = await get(`${url}${path}`);
        const state = cache ?? "(none)";
        cacheStates[state] = (cacheStates[state] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  // Calls a hit started land at the endpoint within milliseconds.
  await sleep(200);
  const endpointRequests = context.endpoint.stats().requests;
  // The timed sync ticks on its own schedule: a window of t seconds holds up to ceil(rate × t) + 1
  // ticks, depending on where they fall. Only requests beyond that can come from the hits.
  const idleExpected = Math.ceil(idlePerSecond * (seconds + 0.2)) + 1;
  return {
    requests,
    cacheStates,
    seconds,
    endpointRequests,
    idleExpected,
    perHit: Math.max(0, endpointRequests - idleExpected) / requests,
  };
}

/**
 * Two instances of the same build, one with the layer and one with SHARED_TAG_STATE=off, both
 * warmed before either is measured, then loaded in interleaved rounds (the order flipping each
 * round), best of each: restarting one instance between modes measured its JIT warm-up instead.
 *
 * Each instance first gets a webhook of its own for the home page's tags, so both serve a page
 * regenerated at runtime. Otherwise the comparison is not of the layer: the instance with the
 * layer learns of this run's earlier webhooks (that is its job) and regenerates the page, while the
 * one without keeps serving the page the build prerendered, and Next 16.4.6 serves a page
 * regenerated at runtime at about two thirds of the rate of a prerendered one, with the layer or
 * without (measured by hand, docs/shared-tag-state.md).
 */
async function measureLayer(
  context: BenchContext,
  cluster: Cluster,
  plan: Plan,
): Promise<InstancesResult["layer"]> {
  const connections = 10;
  // Two new instances, started together: an instance that has just served the other measures
  // (more heap, more to collect) is slower for that alone, whatever the layer does.
  const onInstance = await cluster.add({ env: { [LAYER_SWITCH]: "on" } });
  const offInstance = await cluster.add({ env: { [LAYER_SWITCH]: "off" } });
  const urls = { on: onInstance.url, off: offInstance.url };
  const load = (mode: "on" | "off", durationSeconds: number) =>
    runLoad({ url: urls[mode], connections, durationSeconds, method: "GET", path: "/", headers: {} });
  try {
    for (const mode of ["on", "off"] as const) {
      const response = await fetch(`${urls[mode]}/api/revalidate`, {
        method: "POST",
        headers: receiverHeaders(context),
        body: JSON.stringify({ id: `layer-${mode}-${context.runId}`, tags: ["posts"] }),
      });
      if (response.status !== 200) throw new Error(`the ${mode} instance answered ${response.status}`);
      await response.arrayBuffer();
    }
    for (const mode of ["on", "off"] as const) {
      const state = await waitForHit(`${urls[mode]}/`, { regenerated: true });
      if (state !== "HIT")
        throw new Error(`the ${mode} instance's home page did not settle after its webhook (${state})`);
    }
    for (const mode of ["on", "off"] as const) await load(mode, plan.warmupSeconds);
    let on: LoadSummary | undefined;
    let off: LoadSummary | undefined;
    const rounds: { on: number; off: number }[] = [];
    for (let round = 0; round < Math.max(2, plan.rounds); round++) {
      const result: Partial<Record<"on" | "off", LoadSummary>> = {};
      for (const mode of round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
        result[mode] = await load(mode, plan.loadSeconds);
      }
      const [r, o] = [result.on, result.off];
      if (!r || !o) throw new Error("a layer on/off round did not run");
      rounds.push({ on: r.requestsPerSecond, off: o.requestsPerSecond });
      if (!on || r.requestsPerSecond > on.requestsPerSecond) on = r;
      if (!off || o.requestsPerSecond > off.requestsPerSecond) off = o;
    }
    if (!on || !off) throw new Error("no layer on/off rounds ran");
    return { on, off, rounds, connections };
  } finally {
    await cluster.stop(onInstance.id);
    await cluster.stop(offInstance.id);
  }
}

/** Starts the cluster over the product's build (`.next`), measures, and stops it. */
export async function measureInstances(
  context: BenchContext,
  env: NodeJS.ProcessEnv,
  plan: Plan,
): Promise<InstancesResult> {
  const cluster = await startCluster({
    env,
    instances: INSTANCES,
    reuseBuild: true,
    buildDir: ".next",
    dirPrefix: ".next-bench",
    log: (line) => context.progress(`  ${line}`),
  });
  onCleanup("cluster", () => cluster.close());
  try {
    // Every instance has the pages cached before anything is measured.
    for (const instance of cluster.instances()) {
      for (const path of ["/", `/posts/${BENCH_SLUG}`]) await waitForHit(`${instance.url}${path}`);
    }
    const idle = await measureIdle(context, plan.idleSeconds);
    context.progress(
      `  idle: ${idle.requests} endpoint requests in ${idle.seconds} s from ${INSTANCES} instances (${idle.perInstancePerSecond.toFixed(2)}/s per instance)`,
    );
    const freshness = await measureFreshness(context, cluster, plan.trials);
    context.progress(
      `  webhook → fresh on all: ${freshness.timesMs.length}/${freshness.trials} trials fresh everywhere${freshness.gaveUp ? ` (gave up after ${freshness.trials}: ${freshness.neverFresh.join(", ")} never fresh)` : ""}`,
    );
    // The instance that got the last webhook re-marks its tags a second later (lib/shared-tags,
    // remarkLater), which turns its pages stale once: let that pass, so the burst measures hits.
    await sleep(REMARK_AFTER_MS + 500);
    // One instance from here on, so the others' CPU and Redis requests do not blur the numbers.
    const [first, ...others] = cluster.instances();
    if (!first) throw new Error("the cluster has no instance");
    for (const other of others) await cluster.stop(other.id);
    const hits = await measureHits(context, first.url, plan.hitRequests, idle.perInstancePerSecond);
    context.progress(
      `  ${hits.requests} cached reads: ${hits.endpointRequests} endpoint requests (idle would be ${hits.idleExpected.toFixed(1)}), ${JSON.stringify(hits.cacheStates)}`,
    );
    const layer = await measureLayer(context, cluster, plan);
    context.progress(
      `  home page: layer on ${Math.round(layer.on.requestsPerSecond)} req/s, off ${Math.round(layer.off.requestsPerSecond)} req/s`,
    );
    return { instances: INSTANCES, freshness, idle, layer, hits };
  } finally {
    await cluster.close();
  }
}
