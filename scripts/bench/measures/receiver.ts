/**
 * Receiver throughput and latency under load, against the baseline fixture's bare handler: unique
 * revalidation IDs (each request its own `id`, the realistic case) and one repeated ID (the
 * duplicate path), at each concurrency.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BENCH_SLUG, type BenchContext, baselineHeaders, receiverHeaders } from "../lib/context";
import { type CpuParts, cpuPerRequest, cpuSnapshot } from "../lib/cpu";
import { type LoadSpec, type LoadSummary, runLoad } from "../lib/load";

export type ReceiverScenario = "baseline" | "unique" | "duplicate";

/** `summary` is the round with the highest throughput; `rounds` lists every round's req/s. */
export type ReceiverRow = {
  scenario: ReceiverScenario;
  connections: number;
  summary: LoadSummary;
  /** CPU milliseconds per request in the best round: the server, the endpoint, redis-server. */
  cpu: CpuParts;
  rounds: number[];
};

export const RECEIVER_CONNECTIONS = [10, 50] as const;

const TAGS = [`post:${BENCH_SLUG}`];

function specFor(
  context: BenchContext,
  scenario: ReceiverScenario,
  connections: number,
  durationSeconds: number,
  label: string,
): LoadSpec {
  const base = { connections, durationSeconds, method: "POST" as const, path: "/api/revalidate" };
  switch (scenario) {
    case "baseline":
      return {
        ...base,
        url: context.baselineUrl,
        headers: baselineHeaders(context),
        body: JSON.stringify({ id: `base-${context.runId}-${label}-{{n}}`, tags: TAGS }),
      };
    case "unique":
      return {
        ...base,
        url: context.productUrl,
        headers: receiverHeaders(context),
        body: JSON.stringify({ id: `load-${context.runId}-${label}-{{n}}`, tags: TAGS }),
      };
    case "duplicate":
      return {
        ...base,
        url: context.productUrl,
        headers: receiverHeaders(context),
        body: JSON.stringify({ id: duplicateId(context), tags: TAGS }),
      };
  }
}

function duplicateId(context: BenchContext): string {
  return `load-dup-${context.runId}`;
}

/** Sends the repeated ID until the receiver answers "duplicate" (its claim is marked done after the response). */
async function primeDuplicate(context: BenchContext): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${context.productUrl}/api/revalidate`, {
      method: "POST",
      headers: receiverHeaders(context),
      body: JSON.stringify({ id: duplicateId(context), tags: TAGS }),
    });
    const body = (await response.json()) as { status?: string };
    if (body.status === "duplicate") return;
    await sleep(50);
  }
  throw new Error("the repeated revalidation ID was never answered as a duplicate");
}

/**
 * Runs every scenario at every concurrency, `rounds` times, interleaved (baseline, unique,
 * duplicate, then again), so slow drifts of a shared machine hit product and baseline alike. Each
 * row keeps its best round: interference from other processes only ever makes a run slower.
 */
export async function measureReceiver(
  context: BenchContext,
  options: { durationSeconds: number; warmupSeconds: number; rounds: number },
): Promise<ReceiverRow[]> {
  await primeDuplicate(context);
  const rows: ReceiverRow[] = [];
  const scenarios: ReceiverScenario[] = ["baseline", "unique", "duplicate"];
  for (let round = 1; round <= options.rounds; round++) {
    for (const connections of RECEIVER_CONNECTIONS) {
      for (const scenario of scenarios) {
        const label = `r${round}c${connections}`;
        await runLoad(specFor(context, scenario, connections, options.warmupSeconds, `${label}-warm`));
        const serverPid = scenario === "baseline" ? context.pids.baseline : context.pids.product;
        const before = cpuSnapshot(serverPid, context.pids.redis);
        const summary = await runLoad(
          specFor(context, scenario, connections, options.durationSeconds, label),
        );
        const after = cpuSnapshot(serverPid, context.pids.redis);
        const cpu = cpuPerRequest(before, after, summary.ok + summary.non2xx);
        context.progress(
          `  round ${round}, ${scenario.padEnd(9)} c=${String(connections).padStart(2)}: ${Math.round(summary.requestsPerSecond)} req/s, p50 ${summary.latency.p50} ms, p99 ${summary.latency.p99} ms, CPU/request: server ${cpu.server.toFixed(2)} ms, endpoint ${cpu.endpoint.toFixed(2)} ms, redis ${cpu.redis.toFixed(2)} ms${summary.non2xx || summary.errors ? `, non-2xx ${summary.non2xx}, errors ${summary.errors} (${JSON.stringify(summary.statusCodes)})` : ""}`,
        );
        const existing = rows.find((r) => r.scenario === scenario && r.connections === connections);
        if (!existing)
          rows.push({ scenario, connections, summary, cpu, rounds: [summary.requestsPerSecond] });
        else {
          existing.rounds.push(summary.requestsPerSecond);
          if (summary.requestsPerSecond > existing.summary.requestsPerSecond) {
            existing.summary = summary;
            existing.cpu = cpu;
          }
        }
      }
    }
  }
  return rows;
}
