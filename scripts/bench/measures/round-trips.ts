/**
 * Redis round trips per receiver request, counted at the local endpoint (each Upstash REST call is
 * one HTTP request to it, so one round trip).
 *
 * Total: reset the endpoint's counters, send N requests one at a time, wait until the counters stop
 * moving (the `after()` work has landed), divide.
 *
 * Critical path: the endpoint runs in this process, so its request arrivals (diagnostics channel
 * `http.server.request.start`) and the moment the receiver's response reaches this process share
 * one clock and one event loop. A call the receiver waited on arrived, and was answered, before the
 * receiver could respond, so before its response got here; work scheduled with `after()` starts only
 * once the response is written, so it arrives after it. Calls that arrived before the response but
 * were answered after it would be ambiguous; they are counted separately (and expected to be none).
 */
import diagnosticsChannel from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import { Agent, request as httpRequest, type IncomingMessage } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BENCH_SLUG, type BenchContext, receiverHeaders } from "../lib/context";
import { percentile } from "../lib/stats";

type Arrival = { at: number; path: string; answeredAt?: number };

export type RoundTripResult = {
  requests: number;
  statuses: Record<string, number>;
  /** Per request, from arrival times. */
  criticalPath: { mean: number; max: number; ambiguous: number };
  afterResponse: { mean: number };
  /** Per request, from the endpoint's counters. */
  total: { roundTrips: number; commands: number; byPath: Record<string, number> };
  /** Whether the counters settled after every request (else `after()` work may be undercounted). */
  settledWithinDeadline: boolean;
  /** The mean `redisRoundTrips` of the receiver's own log lines for these requests, when readable. */
  selfReported: number | undefined;
  /**
   * One request at a time: the receiver's latency as the benchmark sees it, and the part of it spent
   * in the critical-path calls as the endpoint sees them (arrival to answer), in milliseconds.
   */
  sequential: {
    latencyP50: number;
    redisP50: number;
    /** Median time in the server before the first call, between calls, and after the last call. */
    gapsP50: number[];
  };
  /** The first receiver request after the server started, when asked for (not in the means). */
  cold?: { criticalPath: number; afterResponse: number };
};

type ServerStart = { request: IncomingMessage; socket: { localPort?: number } };
type ServerFinish = { request: IncomingMessage };

export function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  agent: Agent,
): Promise<{ status: number; respondedAt: number; text: string }> {
  return new Promise((resolvePost, reject) => {
    const req = httpRequest(url, { method: "POST", headers, agent }, (res) => {
      const respondedAt = performance.now();
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolvePost({
          status: res.statusCode ?? 0,
          respondedAt,
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Waits until the endpoint's request counter has not moved for `quietMs`; false past the deadline. */
export async function waitForQuiet(
  context: BenchContext,
  quietMs = 250,
  deadlineMs = 5000,
): Promise<boolean> {
  const deadline = performance.now() + deadlineMs;
  let last = context.endpoint.stats().requests;
  let lastChange = performance.now();
  while (performance.now() < deadline) {
    await sleep(20);
    const now = context.endpoint.stats().requests;
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    } else if (performance.now() - lastChange >= quietMs) {
      return true;
    }
  }
  return false;
}

export async function measureRoundTrips(
  context: BenchContext,
  options: { requests: number; duplicate: boolean; serverLog: string; cold?: boolean },
): Promise<RoundTripResult> {
  const endpointPort = Number(new URL(context.endpoint.url).port);
  const arrivals: Arrival[] = [];
  const byRequest = new WeakMap<IncomingMessage, Arrival>();
  const onStart = (message: unknown) => {
    const { request, socket } = message as ServerStart;
    if (socket.localPort !== endpointPort) return;
    const arrival: Arrival = { at: performance.now(), path: request.url ?? "" };
    arrivals.push(arrival);
    byRequest.set(request, arrival);
  };
  const onFinish = (message: unknown) => {
    const arrival = byRequest.get((message as ServerFinish).request);
    if (arrival) arrival.answeredAt = performance.now();
  };
  diagnosticsChannel.subscribe("http.server.request.start", onStart);
  diagnosticsChannel.subscribe("http.server.response.finish", onFinish);

  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const url = `${context.productUrl}/api/revalidate`;
  const headers = receiverHeaders(context);
  const tag = `post:${BENCH_SLUG}`;
  const duplicateId = `rt-dup-${context.runId}`;
  const bodyFor = (i: number) =>
    JSON.stringify({ id: options.duplicate ? duplicateId : `rt-${context.runId}-${i}`, tags: [tag] });

  try {
    if (options.duplicate) {
      // The first delivery is processed; every measured one is then a duplicate.
      await post(url, headers, bodyFor(-1), agent);
    }
    await waitForQuiet(context);

    const latencies: number[] = [];
    const redisTimes: number[] = [];
    const gaps: number[][] = [];
    // One request, counted by arrival time: calls answered before its response, and calls after it.
    const sendCounted = async (i: number) => {
      const first = arrivals.length;
      const sentAt = performance.now();
      const { status, respondedAt, text } = await post(url, headers, bodyFor(i), agent);
      const outcome = status === 200 ? (JSON.parse(text) as { status?: string }).status : undefined;
      const settled = await waitForQuiet(context);
      const mine = arrivals.slice(first).filter((arrival) => arrival.at >= sentAt);
      const before = mine.filter((arrival) => arrival.at < respondedAt);
      const critical = before.filter(
        (arrival) => arrival.answeredAt !== undefined && arrival.answeredAt < respondedAt,
      ).length;
      latencies.push(respondedAt - sentAt);
      redisTimes.push(
        before.reduce((sum, arrival) => sum + ((arrival.answeredAt ?? respondedAt) - arrival.at), 0),
      );
      // Where the rest of the time goes: before the first call, between calls, after the last one.
      const addGap = (index: number, value: number) => {
        const list = gaps[index] ?? [];
        list.push(value);
        gaps[index] = list;
      };
      let cursor = sentAt;
      before.forEach((arrival, index) => {
        addGap(index, arrival.at - cursor);
        cursor = arrival.answeredAt ?? arrival.at;
      });
      addGap(before.length, respondedAt - cursor);
      return {
        key: `${status}${outcome ? ` ${outcome}` : ""}`,
        critical,
        ambiguous: before.length - critical,
        after: mine.length - before.length,
        settled,
      };
    };

    // The first receiver request of a fresh server also loads the limiter's Lua scripts.
    const cold = options.cold ? await sendCounted(-2) : undefined;

    context.endpoint.resetStats();
    arrivals.length = 0;
    latencies.length = 0;
    redisTimes.length = 0;
    gaps.length = 0;
    const statuses: Record<string, number> = {};
    let critical = 0;
    let criticalMax = 0;
    let ambiguous = 0;
    let afterCount = 0;
    let settledWithinDeadline = true;
    for (let i = 0; i < options.requests; i++) {
      const counted = await sendCounted(i);
      statuses[counted.key] = (statuses[counted.key] ?? 0) + 1;
      settledWithinDeadline = counted.settled && settledWithinDeadline;
      critical += counted.critical;
      criticalMax = Math.max(criticalMax, counted.critical);
      ambiguous += counted.ambiguous;
      afterCount += counted.after;
    }
    const stats = context.endpoint.stats();
    const n = options.requests;
    const byPath: Record<string, number> = {};
    for (const [path, count] of Object.entries(stats.byPath)) byPath[path] = count / n;
    return {
      requests: n,
      statuses,
      criticalPath: { mean: critical / n, max: criticalMax, ambiguous },
      afterResponse: { mean: afterCount / n },
      total: { roundTrips: stats.requests / n, commands: stats.commands / n, byPath },
      settledWithinDeadline,
      selfReported: selfReportedRoundTrips(options.serverLog, n),
      sequential: {
        latencyP50: percentile(latencies, 50),
        redisP50: percentile(redisTimes, 50),
        gapsP50: gaps.map((list) => percentile(list, 50)),
      },
      ...(cold ? { cold: { criticalPath: cold.critical, afterResponse: cold.after } } : {}),
    };
  } finally {
    diagnosticsChannel.unsubscribe("http.server.request.start", onStart);
    diagnosticsChannel.unsubscribe("http.server.response.finish", onFinish);
    agent.destroy();
  }
}

/** The receiver logs one JSON line per request with the round trips it waited for: the last `n`. */
function selfReportedRoundTrips(serverLog: string, n: number): number | undefined {
  try {
    const lines = readFileSync(serverLog, "utf8")
      .split("\n")
      .filter((line) => line.startsWith("{") && line.includes('"msg":"revalidate"'))
      .slice(-n)
      .map((line) => (JSON.parse(line) as { redisRoundTrips?: unknown }).redisRoundTrips)
      .filter((value): value is number => typeof value === "number");
    return lines.length === n ? lines.reduce((sum, value) => sum + value, 0) / n : undefined;
  } catch {
    return undefined;
  }
}

/** The latency of `requests` POSTs sent one at a time (for the baseline's side of the comparison). */
export async function measureSequentialLatency(
  url: string,
  headers: Record<string, string>,
  bodyFor: (i: number) => string,
  requests: number,
): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < requests; i++) {
      const sentAt = performance.now();
      const { status, respondedAt } = await post(url, headers, bodyFor(i), agent);
      if (status !== 200) throw new Error(`${url} answered ${status}`);
      latencies.push(respondedAt - sentAt);
    }
  } finally {
    agent.destroy();
  }
  return latencies;
}
