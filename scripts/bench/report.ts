/**
 * Writes docs/benchmarks.md from a run's results: the machine, one table per measure with its
 * target, and a reading of what limits each number, chosen from the results themselves.
 */
import { writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { cumulative, groupedBars } from "./charts";
import { BENCH_SLUG } from "./lib/context";
import type { MachineInfo } from "./lib/machine";
import type { MemoryReport } from "./lib/processes";
import { max, mib, ms, pct, percentile, perSecond, round } from "./lib/stats";
import type { ActionResult } from "./measures/actions";
import type { CachedPageResult } from "./measures/cached-page";
import { type FreshnessResult, POLL_INTERVAL_MS } from "./measures/freshness";
import { INSTANCE_POLL_MS, type InstancesResult, LAYER_SWITCH } from "./measures/instances";
import { RECEIVER_CONNECTIONS, type ReceiverRow, type ReceiverScenario } from "./measures/receiver";
import type { RoundTripResult } from "./measures/round-trips";

/** RATE_LIMIT_REVALIDATE and the RATE_LIMIT_COMMENTS* limits of the product under test. */
export const RATE_LIMIT_SETTING = "9999999/1m";

export const TARGETS = {
  /** Receiver req/s with unique IDs against the baseline's, at every concurrency. */
  receiverThroughputRatio: 0.5,
  /** Receiver req/s with one repeated ID (the duplicate path) against the baseline's. */
  duplicateThroughputRatio: 0.6,
  /** Receiver p99 at `latencyConnections`, over the baseline's. */
  receiverP99SlackMs: 20,
  latencyConnections: 10,
  /** Server CPU per receiver request (unique IDs) against the baseline's. */
  receiverCpuRatio: 3,
  criticalRoundTrips: 1,
  freshP95Ms: 1000,
  readYourWrites: 1,
  cachedPageRatio: 0.8,
  instancesFreshP95Ms: 1000,
  layerThroughputRatio: 0.9,
  roundTripsPerHit: 0,
} as const;

export type BenchResults = {
  quick: boolean;
  startedAt: string;
  durationSeconds: number;
  buildSeconds: number;
  skippedBuild: boolean;
  machine: MachineInfo;
  loadAverageAtEnd: number[];
  plan: {
    loadSeconds: number;
    warmupSeconds: number;
    rounds: number;
    roundTripRequests: number;
    freshnessTrials: number;
    actionTrials: number;
    instanceTrials?: number;
    idleSeconds?: number;
    hitRequests?: number;
  };
  roundTrips: { unique: RoundTripResult; duplicate: RoundTripResult };
  /** The baseline's latency, one request at a time, in milliseconds. */
  baselineSequentialP50: number;
  receiver: ReceiverRow[];
  cachedPage: CachedPageResult;
  freshness: FreshnessResult;
  actions: ActionResult[];
  /** Absent in results from before the cluster measures existed. */
  instances?: InstancesResult;
  memory: MemoryReport;
};

const yes = (met: boolean) => (met ? "yes" : "**no**");

function row(cells: (string | number)[]): string {
  return `| ${cells.join(" | ")} |`;
}

function table(header: string[], rows: (string | number)[][]): string {
  return [row(header), row(header.map(() => "---")), ...rows.map(row)].join("\n");
}

type ReceiverVerdict = {
  connections: number;
  scenario: Exclude<ReceiverScenario, "baseline">;
  ratio: number;
  p99Delta: number;
  /** Server CPU per request against the baseline's. */
  cpuRatio: number;
  throughputMet: boolean;
  /** Undefined where no latency target applies (only at TARGETS.latencyConnections). */
  latencyMet: boolean | undefined;
};

export function receiverVerdicts(rows: ReceiverRow[]): ReceiverVerdict[] {
  const verdicts: ReceiverVerdict[] = [];
  for (const connections of RECEIVER_CONNECTIONS) {
    const baseRow = rows.find((r) => r.scenario === "baseline" && r.connections === connections);
    const base = baseRow?.summary;
    for (const scenario of ["unique", "duplicate"] as const) {
      const row = rows.find((r) => r.scenario === scenario && r.connections === connections);
      const summary = row?.summary;
      if (!base || !summary || !row || !baseRow) continue;
      const ratio = summary.requestsPerSecond / base.requestsPerSecond;
      const p99Delta = summary.latency.p99 - base.latency.p99;
      verdicts.push({
        connections,
        scenario,
        ratio,
        p99Delta,
        cpuRatio: row.cpu.server / baseRow.cpu.server,
        throughputMet:
          ratio >=
          (scenario === "unique" ? TARGETS.receiverThroughputRatio : TARGETS.duplicateThroughputRatio),
        latencyMet:
          connections === TARGETS.latencyConnections ? p99Delta <= TARGETS.receiverP99SlackMs : undefined,
      });
    }
  }
  return verdicts;
}

function summaryTable(results: BenchResults): string {
  const verdicts = receiverVerdicts(results.receiver);
  const unique = verdicts.filter((v) => v.scenario === "unique");
  const duplicate = verdicts.filter((v) => v.scenario === "duplicate");
  const worstRatio = Math.min(...unique.map((v) => v.ratio));
  const worstDuplicate = Math.min(...duplicate.map((v) => v.ratio));
  const latency = unique.find((v) => v.connections === TARGETS.latencyConnections);
  const worstCpu = Math.max(...unique.map((v) => v.cpuRatio));
  const critical = Math.max(
    results.roundTrips.unique.criticalPath.max,
    results.roundTrips.duplicate.criticalPath.max,
  );
  const freshP95 = percentile(results.freshness.timesMs, 95);
  const freshMet = results.freshness.failures === 0 && freshP95 <= TARGETS.freshP95Ms;
  const actionTrials = results.actions.reduce((sum, a) => sum + a.trials, 0);
  const actionVisible = results.actions.reduce((sum, a) => sum + a.visible, 0);
  const rywRate = actionVisible / actionTrials;
  const cachedRatio =
    results.cachedPage.page.requestsPerSecond / results.cachedPage.staticFile.requestsPerSecond;
  const connections = RECEIVER_CONNECTIONS.join(" and ");
  return table(
    ["measure", "result", "target", "met"],
    [
      [
        `receiver throughput, unique IDs (worst of ${connections} connections)`,
        `${pct(worstRatio)} of the baseline`,
        `≥ ${pct(TARGETS.receiverThroughputRatio)}`,
        yes(worstRatio >= TARGETS.receiverThroughputRatio),
      ],
      [
        `receiver throughput, one repeated ID (worst of ${connections} connections)`,
        `${pct(worstDuplicate)} of the baseline`,
        `≥ ${pct(TARGETS.duplicateThroughputRatio)}`,
        yes(worstDuplicate >= TARGETS.duplicateThroughputRatio),
      ],
      [
        `receiver p99, unique IDs, ${TARGETS.latencyConnections} connections`,
        latency
          ? `baseline ${latency.p99Delta >= 0 ? "+" : "−"} ${ms(Math.abs(latency.p99Delta))}`
          : "not measured",
        `≤ baseline + ${TARGETS.receiverP99SlackMs} ms`,
        yes(latency?.latencyMet === true),
      ],
      [
        "server CPU per receiver request, unique IDs (worst)",
        `${round(worstCpu, 1)}× the baseline's`,
        `≤ ${TARGETS.receiverCpuRatio}×`,
        yes(worstCpu <= TARGETS.receiverCpuRatio),
      ],
      [
        "Redis round trips on the critical path (max per request)",
        String(critical),
        `≤ ${TARGETS.criticalRoundTrips}`,
        yes(critical <= TARGETS.criticalRoundTrips),
      ],
      [
        "webhook → fresh page, p95",
        results.freshness.failures > 0 ? `${results.freshness.failures} trials never fresh` : ms(freshP95),
        `≤ ${ms(TARGETS.freshP95Ms)}`,
        yes(freshMet),
      ],
      [
        "Server Action → own write visible",
        `${actionVisible}/${actionTrials} (${pct(rywRate)})`,
        "100 %",
        yes(rywRate >= TARGETS.readYourWrites),
      ],
      [
        "cached home page vs static file, req/s",
        pct(cachedRatio),
        `≥ ${pct(TARGETS.cachedPageRatio)}`,
        yes(cachedRatio >= TARGETS.cachedPageRatio),
      ],
      ...instancesSummaryRows(results.instances),
      ["server peak RSS (next start, whole process tree)", mib(results.memory.peakTreeRss), "reported", "–"],
    ],
  );
}

function instancesFreshMet(f: InstancesResult["freshness"]): boolean {
  return f.failures === 0 && percentile(f.timesMs, 95) <= TARGETS.instancesFreshP95Ms;
}

const layerRatio = (i: InstancesResult) => i.layer.on.requestsPerSecond / i.layer.off.requestsPerSecond;

function instancesSummaryRows(i: InstancesResult | undefined): string[][] {
  if (!i) return [];
  const f = i.freshness;
  return [
    [
      `webhook → fresh on all ${i.instances} instances, p95`,
      f.failures > 0
        ? `${f.failures} of ${f.trials} trials not fresh everywhere`
        : ms(percentile(f.timesMs, 95)),
      `≤ ${ms(TARGETS.instancesFreshP95Ms)}`,
      yes(instancesFreshMet(f)),
    ],
    [
      "home page req/s, shared layer on vs off",
      pct(layerRatio(i)),
      `≥ ${pct(TARGETS.layerThroughputRatio)}`,
      yes(layerRatio(i) >= TARGETS.layerThroughputRatio),
    ],
    [
      "Redis round trips per cached page hit",
      String(round(i.hits.perHit, 3)),
      String(TARGETS.roundTripsPerHit),
      yes(i.hits.perHit <= TARGETS.roundTripsPerHit),
    ],
    ["Redis requests of an idle instance", `${round(i.idle.perInstancePerSecond, 2)}/s`, "reported", "–"],
  ];
}

function instancesSection(i: InstancesResult): string {
  const f = i.freshness;
  const perInstance = Object.entries(f.perInstanceMs).map(([id, times]) => [
    id === "i1" ? "i1 (received the webhook)" : id,
    `${times.length}/${f.trials}`,
    ms(percentile(times, 50)),
    ms(percentile(times, 95)),
    ms(max(times)),
  ]);
  const byPath = Object.entries(i.idle.byPath)
    .map(([path, count]) => `\`${path}\` ${count}`)
    .join(", ");
  return [
    `Three \`next start\` of the product's build, each on its own copy (scripts/cluster), on the benchmark's Redis. The post is changed in Redis directly, the webhook POSTed to i1 only, and from its 200 every instance's \`/posts/${BENCH_SLUG}\` is fetched every ${INSTANCE_POLL_MS} ms until it shows the change (deadline ${ms(f.deadlineMs)} per trial). A trial's time is the slowest instance's.${f.gaveUp ? ` **The first ${f.trials} trials all failed, so the rest were skipped.**` : ""}`,
    "",
    table(
      ["trials", "fresh everywhere", "p50", "p95", "max", "target p95 ≤ 1 s met"],
      [
        [
          f.trials,
          `${f.timesMs.length}/${f.trials}`,
          ms(percentile(f.timesMs, 50)),
          ms(percentile(f.timesMs, 95)),
          ms(max(f.timesMs)),
          yes(instancesFreshMet(f)),
        ],
      ],
    ),
    "",
    table(["instance", "trials fresh", "p50", "p95", "max"], perInstance),
    "",
    `Idle: with no request to any instance for ${i.idle.seconds} s, the local endpoint received ${i.idle.requests} requests from the ${i.instances} instances: ${round(i.idle.perInstancePerSecond, 2)} per instance per second${byPath ? ` (${byPath})` : ""}.`,
    "",
    `Cached reads: ${i.hits.requests} GETs of \`/\` and the post page on one instance (10 at a time, after both were cache hits; the other instances stopped), ${ms(i.hits.seconds * 1000)} in all; \`x-nextjs-cache\`: ${Object.entries(
      i.hits.cacheStates,
    )
      .map(([state, count]) => `${state} ${count}`)
      .join(", ")}.`,
    "",
    table(
      ["endpoint requests during the burst", "an idle instance in that time", "per hit", "target 0 met"],
      [
        [
          i.hits.endpointRequests,
          round(i.hits.idleExpected, 1),
          round(i.hits.perHit, 3),
          yes(i.hits.perHit <= TARGETS.roundTripsPerHit),
        ],
      ],
    ),
    "",
    `Shared layer on vs off: the home page on two instances of the same build, one started with \`${LAYER_SWITCH}\` unset and one with \`${LAYER_SWITCH}=off\`, ${i.layer.connections} connections, both warmed first, then loaded one at a time in interleaved rounds, the best kept (req/s per round, on / off: ${i.layer.rounds.map((r) => `${Math.round(r.on)} / ${Math.round(r.off)}`).join(", ")}).`,
    "",
    table(
      [
        "layer",
        "req/s",
        "p50",
        "p99",
        "non-2xx + errors",
        "ratio",
        `target ≥ ${pct(TARGETS.layerThroughputRatio)} met`,
      ],
      [
        [
          "on",
          perSecond(i.layer.on.requestsPerSecond),
          ms(i.layer.on.latency.p50),
          ms(i.layer.on.latency.p99),
          i.layer.on.non2xx + i.layer.on.errors + i.layer.on.timeouts,
          pct(layerRatio(i)),
          yes(layerRatio(i) >= TARGETS.layerThroughputRatio),
        ],
        [
          `off (\`${LAYER_SWITCH}=off\`)`,
          perSecond(i.layer.off.requestsPerSecond),
          ms(i.layer.off.latency.p50),
          ms(i.layer.off.latency.p99),
          i.layer.off.non2xx + i.layer.off.errors + i.layer.off.timeouts,
          "100 %",
          "–",
        ],
      ],
    ),
  ].join("\n");
}

function instancesReading(i: InstancesResult): string {
  const f = i.freshness;
  const receiverOnly = f.neverFresh.length > 0 && !f.neverFresh.includes("i1");
  const noLayer = i.idle.requests === 0;
  const parts = [
    receiverOnly
      ? `**Several instances.** Only the instance that received the webhook became fresh (${f.neverFresh.join(", ")} never did): its \`revalidateTag\` updates that process's tags manifest and nothing else, so the other instances keep serving their cached pages.`
      : `**Several instances.** A webhook to one instance reached the others through Redis: ${f.timesMs.length} of ${f.trials} trials were fresh on every instance, p95 ${ms(percentile(f.timesMs, 95))}. The time is how long an instance takes to learn of the invalidation (the shared state's polling), plus one stale read under \`'max'\` and the re-render.`,
  ];
  parts.push(
    noLayer
      ? `No instance asked Redis anything while idle, so no shared tag state layer was polling: \`${LAYER_SWITCH}=off\` changed nothing, and the on/off ratio (${pct(layerRatio(i))}) compares one server with itself.`
      : `An idle instance sends ${round(i.idle.perInstancePerSecond, 2)} requests per second to Redis; across many instances that is what the Redis plan must carry with nobody on the site.`,
  );
  parts.push(
    i.hits.perHit <= TARGETS.roundTripsPerHit
      ? "Cached page hits cost no Redis round trip: the tag state a hit checks is in memory."
      : `Cached page hits cost ${round(i.hits.perHit, 3)} Redis round trips each beyond the idle polling: something on the hit path asks Redis.`,
  );
  return parts.join(" ");
}

function receiverSection(results: BenchResults): string {
  const verdicts = receiverVerdicts(results.receiver);
  const rows = results.receiver.map(({ scenario, connections, summary, rounds, cpu }) => {
    const verdict = verdicts.find((v) => v.scenario === scenario && v.connections === connections);
    return [
      scenario === "baseline"
        ? "baseline (bare handler)"
        : scenario === "unique"
          ? "receiver, unique IDs"
          : "receiver, one repeated ID",
      connections,
      perSecond(summary.requestsPerSecond),
      ms(summary.latency.p50),
      ms(summary.latency.p99),
      summary.non2xx + summary.errors + summary.timeouts,
      rounds.map((value) => Math.round(value)).join(", "),
      ms(cpu.server),
      scenario === "baseline" ? "–" : ms(cpu.endpoint + cpu.redis),
      verdict ? pct(verdict.ratio) : "–",
      verdict ? `${verdict.p99Delta >= 0 ? "+" : "−"}${ms(Math.abs(verdict.p99Delta))}` : "–",
      verdict ? `${round(verdict.cpuRatio, 1)}×` : "–",
      verdict
        ? `${yes(verdict.throughputMet)} / ${verdict.latencyMet === undefined ? "–" : yes(verdict.latencyMet)} / ${yes(verdict.cpuRatio <= TARGETS.receiverCpuRatio)}`
        : "–",
    ];
  });
  return table(
    [
      "server",
      "connections",
      "req/s",
      "p50",
      "p99",
      "non-2xx + errors",
      "req/s of each round",
      "server CPU per request",
      "endpoint + redis-server CPU per request",
      "req/s vs baseline",
      "p99 vs baseline",
      "CPU vs baseline",
      `targets met (req/s ≥ ${pct(TARGETS.receiverThroughputRatio)} unique, ≥ ${pct(TARGETS.duplicateThroughputRatio)} repeated / p99 ≤ +${TARGETS.receiverP99SlackMs} ms at ${TARGETS.latencyConnections} / CPU ≤ ${TARGETS.receiverCpuRatio}×)`,
    ],
    rows,
  );
}

function roundTripSection(results: BenchResults): string {
  const line = (label: string, r: RoundTripResult) => [
    label,
    r.requests,
    round(r.criticalPath.mean, 2),
    r.criticalPath.max,
    round(r.afterResponse.mean, 2),
    round(r.total.roundTrips, 2),
    round(r.total.commands, 2),
    Object.entries(r.total.byPath)
      .map(([path, count]) => `\`${path}\` ${round(count, 2)}`)
      .join(", "),
    r.selfReported === undefined ? "–" : round(r.selfReported, 2),
    r.criticalPath.ambiguous,
  ];
  return table(
    [
      "path",
      "requests",
      "critical path (mean)",
      "critical path (max)",
      "after the response (mean)",
      "total (endpoint counters)",
      "commands",
      "by endpoint route",
      "receiver's own log",
      "ambiguous",
    ],
    [
      line("unique IDs (revalidated)", results.roundTrips.unique),
      line("repeated ID (duplicate)", results.roundTrips.duplicate),
    ],
  );
}

function sequentialNote(results: BenchResults): string {
  const s = results.roundTrips.unique.sequential;
  return `\n\nOne request at a time (unique IDs): the receiver answers in ${ms(s.latencyP50)} (p50), of which ${ms(s.redisP50)} are its critical-path calls as the endpoint sees them (arrival to answer); the baseline answers in ${ms(results.baselineSequentialP50)}.`;
}

function coldNote(results: BenchResults): string {
  const cold = results.roundTrips.unique.cold;
  if (!cold) return "";
  return `\n\nThe first receiver request after \`next start\` (not in the table): ${cold.criticalPath} on the critical path, ${cold.afterResponse} after the response. ${cold.criticalPath > results.roundTrips.unique.criticalPath.max ? "The extra round trip is the receiver's script being loaded into Redis once (EVALSHA answers NOSCRIPT, then EVAL)." : ""}`.trimEnd();
}

function freshnessSection(results: BenchResults): string {
  const f = results.freshness;
  return table(
    [
      "trials",
      "p50",
      "p95",
      "max",
      "GETs until fresh (median / max)",
      "never fresh (10 s)",
      "target p95 ≤ 1 s met",
    ],
    [
      [
        f.trials,
        ms(percentile(f.timesMs, 50)),
        ms(percentile(f.timesMs, 95)),
        ms(max(f.timesMs)),
        `${percentile(f.polls, 50)} / ${max(f.polls)}`,
        f.failures,
        yes(f.failures === 0 && percentile(f.timesMs, 95) <= TARGETS.freshP95Ms),
      ],
    ],
  );
}

function actionSection(results: BenchResults): string {
  const rows = results.actions.map((a) => [
    a.mode === "js" ? "JavaScript on (React submits)" : "JavaScript off (plain form post)",
    a.trials,
    `${a.visible} (${pct(a.visible / a.trials)})`,
    ms(percentile(a.roundTripsMs, 50)),
    ms(percentile(a.roundTripsMs, 95)),
    yes(a.visible === a.trials),
  ]);
  const failures = results.actions.flatMap((a) => a.failures.slice(0, 5).map((f) => `- ${a.mode}: ${f}`));
  return `${table(["browser", "trials", "comment shown on the resulting page", "round trip p50", "round trip p95", "100 % met"], rows)}${failures.length > 0 ? `\n\nFirst failures:\n\n${failures.join("\n")}` : ""}`;
}

function cachedPageSection(results: BenchResults): string {
  const c = results.cachedPage;
  const ratio = c.page.requestsPerSecond / c.staticFile.requestsPerSecond;
  return table(
    [
      "response",
      "bytes",
      "connections",
      "req/s",
      "p50",
      "p99",
      "server CPU per request",
      "ratio",
      "target ≥ 80 % met",
    ],
    [
      [
        "`/` (cached page)",
        c.bytes,
        c.connections,
        perSecond(c.page.requestsPerSecond),
        ms(c.page.latency.p50),
        ms(c.page.latency.p99),
        ms(c.cpu.page),
        pct(ratio),
        yes(ratio >= TARGETS.cachedPageRatio),
      ],
      [
        `\`/__bench-static.html\` (public/)`,
        c.bytes,
        c.connections,
        perSecond(c.staticFile.requestsPerSecond),
        ms(c.staticFile.latency.p50),
        ms(c.staticFile.latency.p99),
        ms(c.cpu.staticFile),
        "100 %",
        "–",
      ],
    ],
  );
}

function readings(results: BenchResults): string[] {
  const out: string[] = [];
  const verdicts = receiverVerdicts(results.receiver).filter((v) => v.scenario === "unique");
  const rt = results.roundTrips.unique;
  const dup = results.roundTrips.duplicate;
  const worst = verdicts.reduce((a, b) => (a.ratio <= b.ratio ? a : b));
  const worstRow = results.receiver.find(
    (r) => r.scenario === "unique" && r.connections === worst.connections,
  );
  const baseRow = results.receiver.find(
    (r) => r.scenario === "baseline" && r.connections === worst.connections,
  );
  const perTrip =
    ((worstRow?.cpu.server ?? Number.NaN) - (baseRow?.cpu.server ?? Number.NaN)) / rt.total.roundTrips;
  const dupRatio = Math.min(
    ...receiverVerdicts(results.receiver)
      .filter((v) => v.scenario === "duplicate")
      .map((v) => v.ratio),
  );
  const all = receiverVerdicts(results.receiver);
  const worstCpu = all
    .filter((v) => v.scenario === "unique")
    .reduce((a, b) => (a.cpuRatio >= b.cpuRatio ? a : b));
  const missed = [
    ...all
      .filter((v) => !v.throughputMet)
      .map(
        (v) =>
          `${v.scenario === "unique" ? "unique IDs" : "one repeated ID"} at ${v.connections} connections: ${pct(v.ratio)} of the baseline's req/s`,
      ),
    ...all
      .filter((v) => v.latencyMet === false)
      .map((v) => `p99 at ${v.connections} connections: baseline + ${ms(v.p99Delta)}`),
    ...(worstCpu.cpuRatio > TARGETS.receiverCpuRatio
      ? [`server CPU ${round(worstCpu.cpuRatio, 1)}× the baseline's`]
      : []),
  ];
  const cpuSentence = `Both servers are CPU-bound under load, so throughput follows CPU per request: \`next start\` spent ${ms(worstRow?.cpu.server ?? Number.NaN)} of CPU per receiver request at ${worst.connections} connections against ${ms(baseRow?.cpu.server ?? Number.NaN)} for the bare handler, and the endpoint and redis-server another ${ms((worstRow?.cpu.endpoint ?? Number.NaN) + (worstRow?.cpu.redis ?? Number.NaN))} on the same ${results.machine.cores} cores (against a hosted Upstash that part leaves the machine, and each round trip adds a network RTT instead).`;
  const work = `The bare handler does Next's routing, a string compare and \`revalidateTag\`; the receiver adds an HS256 verification, zod validation, ${round(rt.selfReported ?? rt.criticalPath.mean, 1)} Redis round trip${(rt.selfReported ?? rt.criticalPath.mean) === 1 ? "" : "s"} it waits for (limit, claim, shared publish and the ID marked done, in one script) and ${round(rt.afterResponse.mean, 1)} after the response (the activity log, one pipeline per 20 ms batch of requests, plus each instance's timed sync once a second), a JSON log line, and the shared tag state's bookkeeping for its publish and for Next's echo of it. One at a time it answers in ${ms(rt.sequential.latencyP50)} against ${ms(results.baselineSequentialP50)}, of which ${ms(rt.sequential.redisP50)} is the Redis call as the endpoint sees it. The duplicate path (no publish, no \`revalidateTag\`, nothing marked) reaches ${pct(dupRatio)}.`;
  if (missed.length === 0) {
    out.push(`**Receiver.** Within its targets. ${cpuSentence} ${work}`);
  } else {
    out.push(
      `**Receiver.** Missed: ${missed.join("; ")}. ${cpuSentence} ${work} Spread over its ${round(rt.total.roundTrips, 1)} round trips in all, the receiver's extra CPU is ${ms(perTrip)} per round trip. Server CPU per request is within ${TARGETS.receiverCpuRatio}× of the bare handler's, yet throughput is not within ${pct(TARGETS.receiverThroughputRatio)}: on these 2 cores the receiver also pays the local endpoint's and redis-server's CPU, which a bare handler never touches, so req/s follows server + endpoint + redis CPU, not server CPU alone. Counting the server's CPU alone (a hosted Upstash takes the rest off the machine), the receiver would reach about ${pct((baseRow?.cpu.server ?? Number.NaN) / (worstRow?.cpu.server ?? Number.NaN))} of the bare handler's req/s at ${worst.connections} connections. The p99 gap is queueing on a saturated machine (each request waits behind the others), so it follows the same CPU; the baseline's own p99 here (${ms(baseRow?.summary.latency.p99 ?? Number.NaN)} at ${worst.connections} connections) shows how much of it is the machine. Where the server's CPU goes, by a profile of \`next start\` under this load, and what is left to remove, is in "Profiles" below.`,
    );
  }
  const criticalMax = Math.max(rt.criticalPath.max, dup.criticalPath.max);
  out.push(
    criticalMax <= TARGETS.criticalRoundTrips
      ? `**Round trips.** ${criticalMax} on the critical path at most: the sender's limit, the ID's claim and the shared publish are one Lua script (receiver-contract.md, "One round trip"). The same script marks the ID done; the activity entries are written after the response (\`after()\`), one pipeline per 20 ms batch of requests (lib/revalidation/activity.ts).`
      : rt.selfReported !== undefined && rt.selfReported <= TARGETS.criticalRoundTrips
        ? `**Round trips.** The receiver waits for ${round(rt.selfReported, 2)} (its own log line, and \`tests/revalidation/dedupe.test.ts\` counts exactly one request at the endpoint before the answer): the sender's limit, the ID's claim and the shared publish are one Lua script. The endpoint's count here reaches ${criticalMax} because it counts every call answered before the response reached the benchmark process, and on this busy machine the after-response pipeline (the activity entries), which Next starts as soon as the response is written, was sometimes answered before the benchmark process read that response (the endpoint and the load client share its event loop); the duplicate path, whose after-response work is smaller, shows ${round(dup.criticalPath.max, 2)}. ${rt.criticalPath.ambiguous} calls were ambiguous (arrived before the response, answered after).`
        : `**Round trips.** ${criticalMax} on the critical path at most, above the target of ${TARGETS.criticalRoundTrips}: see the route counts above for which calls the response waits for.`,
  );
  const f = results.freshness;
  out.push(
    `**Webhook → fresh.** Under \`revalidateTag(tag, "max")\` the first GET after the webhook is still served stale and starts the re-render in the background; a later GET gets the new page. So the time is one poll interval (${POLL_INTERVAL_MS} ms) plus the re-render of the post (a Redis read and React), with a median of ${percentile(f.polls, 50)} GETs per trial.`,
  );
  const js = results.actions.find((a) => a.mode === "js");
  const noJs = results.actions.find((a) => a.mode === "no-js");
  out.push(
    `**Server Actions.** \`updateTag\` expires the comment list's tag inside the action, so the render that answers it (React's action response with JavaScript${noJs ? ", the page answering the form post without" : ""}) reads the new comment. The round trip is the action (rate limit, a Redis write, the post check) plus that render${noJs && js ? `; without JavaScript the browser loads the whole page that answers the post, hence ${ms(percentile(noJs.roundTripsMs, 50))} against ${ms(percentile(js.roundTripsMs, 50))}` : ""}.`,
  );
  const c = results.cachedPage;
  const ratio = c.page.requestsPerSecond / c.staticFile.requestsPerSecond;
  const cpuNote = `\`next start\` spent ${ms(c.cpu.page)} of CPU per page request against ${ms(c.cpu.staticFile)} per file request`;
  out.push(
    ratio >= TARGETS.cachedPageRatio
      ? `**Cached page.** ${pct(ratio)} of a static file's throughput (${cpuNote}): the page is served from Next's cache (\`x-nextjs-cache: ${c.cacheState}\`) without rendering, so what remains is Next's app-route handling around the cached bytes.`
      : `**Cached page.** ${pct(ratio)} of a static file's throughput, below target (${cpuNote}). The page was a cache hit (\`x-nextjs-cache: ${c.cacheState}\`), so nothing re-rendered, and none of the difference is this project's: see "Where the cached page's CPU goes" below. It is measured before any revalidation on purpose: for a few seconds after a burst of webhooks the page is served STALE while it re-renders, which costs much more.`,
  );
  if (results.instances) out.push(instancesReading(results.instances));
  out.push(
    `**Memory.** The peak is the sum of RSS over \`next start\`'s process tree (${results.memory.processes} ${results.memory.processes === 1 ? "process" : "processes"} at the end), sampled every ${results.memory.intervalMs} ms through all the measures; the largest single-process high-water mark (VmHWM) was ${mib(results.memory.peakProcessHwm)}.`,
  );
  return out;
}

/**
 * What the CPU profiles showed (BENCH_CPU_PROF=1 with BENCH_ONLY=receiver or BENCH_ONLY=page,
 * summarized with scripts/bench/profile-summary.ts). Written from those runs, not from this one:
 * profiling slows the server, so the reference run is never profiled. Re-run them after a change
 * that moves these numbers, and update this text.
 */
export const PROFILE_NOTES = `**Where the receiver's CPU goes.** Profiles of \`next start\` under the receiver's load, built with
\`--no-mangling\`, before and after each change (quick runs on this machine, shared with another
session's tests, so compare the ratio to the baseline measured in the same run, not absolute numbers):

| change | server CPU per request, unique IDs, 10 / 50 connections | baseline in the same run | ratio |
| --- | --- | --- | --- |
| before (3 round trips before the answer, \`fetch\` client, jose key per call) | 12.8 / 11.0 ms | 1.7 / 1.1 ms | 7.6× / 10.4× |
| limit, claim and publish in one script | 12.1 / 11.3 ms | 3.4 / 1.8 ms (machine busier) | 3.6× / 6.4× |
| + the fail-fast client over \`node:http\`, the HMAC key imported once | 7.5 / 4.7 ms | 2.2 / 1.3 ms | 3.5× / 3.5× |
| + a verified token remembered, the log line written to the stream | 6.4 / 4.0 ms | 2.7 / 1.7 ms | 2.4× / 2.3× |
| + done marked by the script, activity entries batched, the baseline no longer running the product's instrumentation (a full, not quick, profiled run) | 1.65 / 1.85 ms | 0.76 / 0.73 ms | 2.2× / 2.5× |

What each profile showed: before, the Upstash REST calls through Next's instrumented \`fetch\` (a trace span per
call), undici and WHATWG streams, with a fresh \`AbortSignal\` each, were the largest share of the
receiver's own work, and there were six of them per webhook (three waited for). jose's
\`verifySignature\` (WebCrypto HMAC, plus a key import per call until the key was cached) was the next
(about 7 % of all server CPU under load, the same token verified again on every request), then Next's
patched \`console\` for the log line (1.5 %). Our own steps (reading the body, zod, the claim, the tag
records, the response envelope) are a few per cent each. What is left after the changes is mostly Next's own route handling, which the bare handler pays
too, plus: the one \`node:http\` round trip before the answer (Node's HTTP client, \`_http_client\` and
\`_http_agent\`, is about 4 % of the busy CPU, plus its share of the socket and stream code), the activity write after it (one per 20 ms batch of requests), the shared tag state's
announcement stream (one SSE message per publish, read through \`fetch\` by every instance), \`after()\`,
and Next's echo of \`revalidateTag\` through the cache handler. One cost was not the receiver's at all
and is gone: the bare-handler baseline was built with the product's \`instrumentation.ts\` (Next took
the repository root's), so it ran the shared tag state too and, hearing every webhook the receiver
published, ran a sync for each, on the same cores (found by watching Redis with \`MONITOR\`: one
\`changesSince\` script per webhook, on the baseline's connection). A backend that mints a new token per
request (a new \`jti\` each time) still pays the HMAC on every request. The undici and web-streams frames
still in the profile (about 4 % of samples) are not the announcement stream: moving it to \`node:http\`
changed nothing measurable, so it stayed on \`fetch\`. They are Next building the route handler's
\`Request\` (\`NextRequest\`, \`fromNodeNextRequest\`) and piping its \`Response\` back
(\`pipeToNodeResponse\`), which the bare handler pays too. In all, the \`.next\` chunks' self time
(this project's code, plus the parts of Next and \`@upstash/redis\` bundled into them) was 11.5 % of the
receiver's busy CPU in the last profile, no function of it above 1 %: even at zero the receiver would
use about 1.9× the bare handler's CPU, because it makes a Redis round trip, receives its own
announcement, records the delivery, and is a route handler like the baseline.

**Where the cached page's CPU goes.** A profile of \`next start\` serving only \`/\` (cache hits) and the
static file, alternating: every heavy frame is Next's: \`handleResponse\` and \`sendRenderResult\` (the
cached HTML and its RSC headers), \`resolveRoutes\` and \`trace\` (routing and its tracing spans), the
app-page runtime's \`prepare\` and cache \`get\`, and \`compression\`'s \`end\`/\`writeHead\` (Next's default
\`compress: true\` wraps every response even when the client asks for no encoding); the static file takes
\`serveStatic\` → \`send\` (a \`stat\`, an \`open\`, a read). No frame of this project's code is on a hit:
the layout and the pages do not run (the page is served from the cache), the security headers from
\`next.config.ts\` are added to the static file too, and the shared tag state's cache handler is never
asked for a page (it registers a kind no page uses). So the gap is the cost of Next's app-page path over its
static-file path, which this project cannot remove short of serving pages as files.`;

const HOW_TO_READ = `Every number comes from one run of \`npm run bench\` on the machine above, with all servers on
that machine: the product's \`next start\`, the baseline fixture's \`next start\`, redis-server, the local
Upstash endpoint (in the benchmark process) and the load generator (autocannon, in a child process of its
own) share its cores. Absolute numbers therefore say little about a deployment; the ratios do, because
product and baseline ran back to back in the same conditions. A shared or busy machine makes every number
noisier (the load average is given above); compare runs only from the same machine. The receiver runs
with \`RATE_LIMIT_REVALIDATE=${RATE_LIMIT_SETTING}\` (and comments with the same), so the limiter's Redis work
is done on every request but never answers 429: the benchmark measures the work, not the limit. Latency
percentiles from autocannon are in whole milliseconds. Targets are reported, not asserted: a missed target
is a finding to explain, not a failed build.`;

/** A sentence when the machine was visibly busy before the run started (another session, a build). */
function sharedMachineNote(results: BenchResults): string {
  const [load] = results.machine.loadAverage;
  if (load === undefined || load < results.machine.cores / 4) return "";
  return `**The machine was not idle when this run started** (load average ${load} over the minute before, on ${results.machine.cores} cores: another job, or one that had just ended): absolute numbers may be lower and noisier than on an idle machine; the ratios to the baseline, measured in the same minutes, are what to read.`;
}

export function renderReport(results: BenchResults): string {
  const m = results.machine;
  const sections = [
    "# Benchmarks",
    "",
    [
      "Written by `npm run bench` (scripts/bench/run.ts); do not edit by hand.",
      results.quick
        ? "**Quick run (BENCH_QUICK=1): fewer trials and shorter loads; not the reference numbers.**"
        : "",
      sharedMachineNote(results),
    ]
      .filter(Boolean)
      .join(" "),
    "",
    table(
      ["", ""],
      [
        ["date", results.startedAt],
        ["command", `\`${results.quick ? "BENCH_QUICK=1 " : ""}npm run bench\``],
        ["CPU", `${m.cpu}, ${m.cores} cores`],
        ["memory", mib(m.memoryBytes)],
        ["Node.js", m.node],
        ["Next.js", m.next],
        ["OS", m.os],
        [
          "load average (1/5/15 min) at start / end",
          `${m.loadAverage.join(" ")} / ${results.loadAverageAtEnd.join(" ")}`,
        ],
        [
          "run time",
          `${Math.round(results.durationSeconds)} s (build ${results.skippedBuild ? "skipped" : `${Math.round(results.buildSeconds)} s`})`,
        ],
        [
          "loads",
          `${results.plan.loadSeconds} s per measured run after ${results.plan.warmupSeconds} s of warm-up; ${results.plan.rounds} interleaved round(s), the best kept`,
        ],
      ],
    ),
    "",
    "## Summary",
    "",
    summaryTable(results),
    "",
    "## Receiver throughput and latency",
    "",
    `\`POST /api/revalidate\` with one long-lived token (\`iss\`, minted before the run), body \`{ id, tags: ["post:hello-world"] }\`: each request its own \`id\` (the realistic case), or one \`id\` repeated (after its first delivery, every request takes the duplicate path). The baseline is \`scripts/bench/baseline-app/\`: the same Next.js with \`cacheComponents\`, one page reading a tagged \`'use cache'\` function, and a route that compares a static secret and calls \`revalidateTag(tag, "max")\`.`,
    "",
    picture(
      "receiver",
      "Receiver against the bare handler: req/s, p99 and server CPU per request at each concurrency",
    ),
    "",
    receiverSection(results),
    "",
    "## Redis round trips per receiver request",
    "",
    `Counted at the local endpoint over ${results.plan.roundTripRequests} requests sent one at a time. **Total**: the endpoint's request counter after the \`after()\` work landed (polled until stable), divided by the requests. **Critical path**: endpoint requests that arrived and were answered between sending a request and its response reaching the benchmark process (the endpoint runs in that process, so both sides share one clock; work the receiver defers with \`after()\` starts only once its response is written). *Ambiguous* counts calls that arrived before the response but were answered after it (expected 0). The receiver's own log line reports the round trips it waited for, as a cross-check.`,
    "",
    roundTripSection(results) + sequentialNote(results) + coldNote(results),
    "",
    "## Webhook → fresh page",
    "",
    `The post is changed in Redis directly (as a CMS would), the revalidation POSTed, and from its 200 \`/posts/hello-world\` is fetched every ${POLL_INTERVAL_MS} ms until it shows the change.`,
    "",
    picture("freshness", "Cumulative distribution of webhook-to-fresh times"),
    "",
    freshnessSection(results),
    "",
    "## Server Action → own write visible",
    "",
    "The comment form on `/posts/read-your-writes`, submitted in Chromium (Playwright). A trial succeeds when the page the submission ends on shows the new comment, with no reload or retry. Round trip: click → the resulting page rendered (JavaScript off: the page answering the form post loaded; on: the comment rendered from the action's response).",
    "",
    actionSection(results),
    "",
    "## Cached page vs a static file",
    "",
    `The home page (\`/\`, a cached \`'use cache'\` render) against a file of the same byte size in \`public/\`, served by the same \`next start\` in the same run, uncompressed, both warmed first, then alternating (req/s per round: ${results.cachedPage.rounds.map((r) => `${Math.round(r.page)} / ${Math.round(r.staticFile)}`).join(", ")}).`,
    "",
    cachedPageSection(results),
    "",
    ...(results.instances
      ? [
          "## Several instances",
          "",
          picture("instances", "Cumulative distribution of webhook-to-fresh times on each instance"),
          "",
          instancesSection(results.instances),
          "",
        ]
      : []),
    "## Memory",
    "",
    table(
      ["process", "peak RSS (sampled, tree)", "peak VmHWM (one process)", "samples"],
      [
        [
          "`next start` (product)",
          mib(results.memory.peakTreeRss),
          mib(results.memory.peakProcessHwm),
          results.memory.samples,
        ],
      ],
    ),
    "",
    "## What limits each number",
    "",
    readings(results).join("\n\n"),
    "",
    "## Profiles",
    "",
    PROFILE_NOTES,
    "",
    "## How to read these numbers",
    "",
    HOW_TO_READ,
    "",
  ];
  return sections.join("\n");
}

/** The pictures, by file name (written beside the report, linked from it). */
export const CHARTS = {
  receiver: "benchmarks-receiver.svg",
  freshness: "benchmarks-freshness.svg",
  instances: "benchmarks-instances.svg",
} as const;

export function renderCharts(results: BenchResults): Partial<Record<keyof typeof CHARTS, string>> {
  const scenarios = ["baseline", "unique", "duplicate"] as const;
  const groups = RECEIVER_CONNECTIONS.map((c) => `${c} conn.`);
  const value = (scenario: ReceiverScenario, connections: number, read: (row: ReceiverRow) => number) => {
    const row = results.receiver.find((r) => r.scenario === scenario && r.connections === connections);
    return row ? read(row) : null;
  };
  const grid = (read: (row: ReceiverRow) => number) =>
    RECEIVER_CONNECTIONS.map((c) => scenarios.map((scenario) => value(scenario, c, read)));
  const baseline = (read: (row: ReceiverRow) => number) =>
    RECEIVER_CONNECTIONS.map((c) => value("baseline", c, read));
  const charts: Partial<Record<keyof typeof CHARTS, string>> = {
    receiver: groupedBars({
      title: "Receiver vs a bare handler (higher req/s, lower p99 and CPU are better)",
      groups,
      series: ["baseline (bare handler)", "receiver, unique IDs", "receiver, one repeated ID"],
      panels: [
        {
          title: "requests per second",
          unit: "req/s",
          values: grid((row) => row.summary.requestsPerSecond),
          targets: baseline((row) => row.summary.requestsPerSecond * TARGETS.receiverThroughputRatio),
          targetLabel: "target",
        },
        {
          title: "p99 latency",
          unit: "ms",
          values: grid((row) => row.summary.latency.p99),
          targets: RECEIVER_CONNECTIONS.map((c) =>
            c === TARGETS.latencyConnections
              ? (value("baseline", c, (row) => row.summary.latency.p99) ?? 0) + TARGETS.receiverP99SlackMs
              : null,
          ),
        },
        {
          title: "CPU per request",
          unit: "ms",
          values: grid((row) => row.cpu.server),
          targets: baseline((row) => row.cpu.server * TARGETS.receiverCpuRatio),
        },
      ],
      note: `req/s target: ${pct(TARGETS.receiverThroughputRatio)} of the baseline (unique IDs); p99: baseline + ${TARGETS.receiverP99SlackMs} ms at ${TARGETS.latencyConnections}; CPU: ${TARGETS.receiverCpuRatio}× the baseline`,
    }),
    freshness: cumulative({
      title: "Webhook → fresh page: from the 200 to the first fresh GET",
      unit: "milliseconds after the webhook's 200",
      series: [
        { label: `${results.freshness.trials} trials, one instance`, values: results.freshness.timesMs },
      ],
      target: { value: TARGETS.freshP95Ms, label: "target: p95 ≤ 1 s" },
      note: `${results.freshness.failures} never fresh within 10 s`,
    }),
  };
  const i = results.instances;
  if (i) {
    charts.instances = cumulative({
      title: `A webhook to one instance: fresh on each of ${i.instances} (time after its 200)`,
      unit: "milliseconds after the webhook's 200 (from i1)",
      series: [
        ...Object.entries(i.freshness.perInstanceMs).map(([id, times]) => ({
          label: id === "i1" ? "i1 (got the webhook)" : id,
          values: times,
        })),
        { label: "slowest of all", values: i.freshness.timesMs },
      ],
      target: { value: TARGETS.instancesFreshP95Ms, label: "target: p95 ≤ 1 s" },
      note: `${i.freshness.timesMs.length} of ${i.freshness.trials} trials fresh everywhere`,
    });
  }
  return charts;
}

export function writeReport(path: string, results: BenchResults): void {
  const charts = renderCharts(results);
  for (const [name, svg] of Object.entries(charts)) {
    if (svg) writeFileSync(join(dirname(path), CHARTS[name as keyof typeof CHARTS]), svg);
  }
  writeFileSync(path, renderReport(results));
}

/** A Markdown image of a chart, linked relative to the report (both are in the same folder). */
function picture(name: keyof typeof CHARTS, alt: string): string {
  return `![${alt}](${basename(CHARTS[name])})`;
}
