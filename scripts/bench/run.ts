/**
 * `npm run bench`: builds the product and the baseline fixture (scripts/bench/baseline-app/), serves both with
 * `next start` over one local Upstash endpoint on a real redis-server, measures, and writes
 * docs/benchmarks.md. Never part of `npm test`.
 *
 *   BENCH_QUICK=1      fewer trials and shorter loads (for development; writes .bench/benchmarks.md)
 *   BENCH_SKIP_BUILD=1 reuse the existing .next and scripts/bench/baseline-app/.next (development only)
 *   BENCH_CPU_PROF=1   build the product with --no-mangling and run its `next start` with --cpu-prof
 *                      (profiles in .bench/cpu-prof; summarize one with scripts/bench/profile-summary.ts)
 *   BENCH_REPORT_ONLY=1 only render the report again from the last run's .bench/results.json
 *   BENCH_ONLY=receiver only the receiver's measures (round trips, load), printed, no report: for
 *                      before/after CPU profiles of the receiver (with BENCH_CPU_PROF=1)
 *   BENCH_ONLY=page    only the cached page against the static file, printed, no report
 *
 * The "several instances" measures start three `next start` of the same build (scripts/cluster); the
 * shared tag state layer is switched off with SHARED_TAG_STATE=off for the on/off comparison.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "@upstash/redis";
import { mintRevalidationToken } from "../../lib/revalidation/mint";
import { startLocalUpstash } from "../upstash-local/server";
import type { BenchContext } from "./lib/context";
import { redisServerPid } from "./lib/cpu";
import { machineInfo } from "./lib/machine";
import {
  cleanup,
  cleanupOnSignals,
  freePort,
  onCleanup,
  otherNextProcesses,
  runLogged,
  sampleMemory,
  spawnLogged,
  stopProcessGroup,
  waitForHttp,
} from "./lib/processes";
import { createProgress, ms, percentile } from "./lib/stats";
import { measureActions } from "./measures/actions";
import { createStaticPlaceholder, measureCachedPage, STATIC_FILE_NAME } from "./measures/cached-page";
import { measureFreshness } from "./measures/freshness";
import { INSTANCES, measureInstances } from "./measures/instances";
import { measureReceiver } from "./measures/receiver";
import { measureRoundTrips, measureSequentialLatency, waitForQuiet } from "./measures/round-trips";
import { type BenchResults, RATE_LIMIT_SETTING, writeReport } from "./report";

const root = fileURLToPath(new URL("../../", import.meta.url));
const workDir = join(root, ".bench");
const quick = process.env.BENCH_QUICK === "1";
const skipBuild = process.env.BENCH_SKIP_BUILD === "1";
const cpuProfile = process.env.BENCH_CPU_PROF === "1";
const only = process.env.BENCH_ONLY;
if (only !== undefined && only !== "receiver" && only !== "page") {
  throw new Error(`BENCH_ONLY must be "receiver" or "page", not ${JSON.stringify(only)}`);
}

const plan = quick
  ? {
      loadSeconds: 3,
      warmupSeconds: 2,
      rounds: 1,
      roundTripRequests: 10,
      freshnessTrials: 10,
      actionTrials: 10,
      instanceTrials: 10,
      idleSeconds: 5,
      hitRequests: 200,
    }
  : {
      loadSeconds: 8,
      warmupSeconds: 3,
      rounds: 2,
      roundTripRequests: 50,
      freshnessTrials: 50,
      actionTrials: 100,
      instanceTrials: 50,
      idleSeconds: 10,
      hitRequests: 1000,
    };

const nextBin = join(root, "node_modules", ".bin", "next");
const nextCli = join(root, "node_modules", "next", "dist", "bin", "next");

async function main(): Promise<void> {
  cleanupOnSignals();
  const started = new Date();
  const progress = createProgress();
  mkdirSync(workDir, { recursive: true });
  const machine = machineInfo(root);
  progress(
    `${quick ? "quick run (BENCH_QUICK=1)" : "full run"} on ${machine.cpu} × ${machine.cores}, load average ${machine.loadAverage.join(" ")}`,
  );

  // One Redis for the build and the servers: `next build` prerenders pages from it.
  const endpoint = await startLocalUpstash({
    engine: "redis-server",
    port: 0,
    log: (line) => progress(line),
  });
  onCleanup("local Upstash endpoint", () => endpoint.close());
  progress(`local Upstash endpoint at ${endpoint.url} (${endpoint.engine})`);

  const revalidationSecret = randomBytes(32).toString("base64url");
  const serverEnv: NodeJS.ProcessEnv = {
    ...process.env,
    UPSTASH_REDIS_REST_URL: endpoint.url,
    UPSTASH_REDIS_REST_TOKEN: endpoint.token,
    KV_REST_API_URL: undefined,
    KV_REST_API_TOKEN: undefined,
    REVALIDATION_SECRET: revalidationSecret,
    ADMIN_PASSWORD: randomBytes(12).toString("base64url"),
    ADMIN_SESSION_SECRET: randomBytes(32).toString("base64url"),
    // Raised so that the limits never answer 429 here: the benchmark measures the work, not the limit.
    RATE_LIMIT_REVALIDATE: RATE_LIMIT_SETTING,
    RATE_LIMIT_COMMENTS: RATE_LIMIT_SETTING,
    RATE_LIMIT_COMMENTS_PER_POST: RATE_LIMIT_SETTING,
    RATE_LIMIT_COMMENTS_SITE: RATE_LIMIT_SETTING,
    NEXT_TELEMETRY_DISABLED: "1",
  };

  const buildStarted = performance.now();
  if (
    skipBuild &&
    existsSync(join(root, ".next", "BUILD_ID")) &&
    existsSync(join(root, "scripts", "bench", "baseline-app", ".next"))
  ) {
    progress("BENCH_SKIP_BUILD=1: reusing .next and scripts/bench/baseline-app/.next");
  } else {
    const others = otherNextProcesses(root);
    if (others.length > 0) {
      progress(
        `warning: other Next.js processes use this directory's .next, and rebuilding it will disturb them:\n  ${others.join("\n  ")}`,
      );
    }
    progress("next build (product) …");
    // A profile is read by function names: with BENCH_CPU_PROF=1 the product is built unmangled.
    await runLogged("next build (product)", nextBin, cpuProfile ? ["build", "--no-mangling"] : ["build"], {
      cwd: root,
      env: serverEnv,
      logFile: join(workDir, "build-product.log"),
    });
    progress("next build scripts/bench/baseline-app (baseline fixture) …");
    await runLogged("next build (baseline)", nextBin, ["build", "scripts/bench/baseline-app"], {
      cwd: root,
      env: serverEnv,
      logFile: join(workDir, "build-baseline.log"),
    });
  }
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  progress(`built in ${Math.round(buildSeconds)} s`);

  const staticPath = join(root, "public", STATIC_FILE_NAME);
  createStaticPlaceholder(staticPath);

  const [productPort, baselinePort] = [await freePort(), await freePort()];
  const productLog = join(workDir, "server-product.log");
  const baselineLog = join(workDir, "server-baseline.log");
  writeFileSync(productLog, "");
  writeFileSync(baselineLog, "");
  const startArgs = ["start", "-H", "127.0.0.1", "-p", String(productPort)];
  // --cpu-prof is refused in NODE_OPTIONS, so node runs Next's CLI itself (one process: `next start` serves in-process).
  const product = cpuProfile
    ? spawnLogged(
        "next start (product)",
        process.execPath,
        [`--cpu-prof`, `--cpu-prof-dir=${join(workDir, "cpu-prof")}`, nextCli, ...startArgs],
        { cwd: root, env: serverEnv, logFile: productLog },
      )
    : spawnLogged("next start (product)", nextBin, startArgs, {
        cwd: root,
        env: serverEnv,
        logFile: productLog,
      });
  const memory = sampleMemory(product.pid);
  const baseline = spawnLogged(
    "next start (baseline)",
    nextBin,
    ["start", "scripts/bench/baseline-app", "-H", "127.0.0.1", "-p", String(baselinePort)],
    { cwd: root, env: serverEnv, logFile: baselineLog },
  );
  const productUrl = `http://127.0.0.1:${productPort}`;
  const baselineUrl = `http://127.0.0.1:${baselinePort}`;
  await Promise.all([waitForHttp(`${productUrl}/`, product), waitForHttp(`${baselineUrl}/`, baseline)]);
  progress(`product at ${productUrl} (pid ${product.pid}), baseline at ${baselineUrl}`);

  const context: BenchContext = {
    quick,
    progress,
    productUrl,
    baselineUrl,
    pids: { product: product.pid, baseline: baseline.pid, redis: redisServerPid() },
    endpoint,
    redis: new Redis({
      url: endpoint.url,
      token: endpoint.token,
      automaticDeserialization: false,
      enableTelemetry: false,
    }),
    token: await mintRevalidationToken({
      secret: revalidationSecret,
      expiresInSeconds: 3600,
      issuer: "bench",
    }),
    // The fixture compares REVALIDATION_SECRET as a static shared secret.
    baselineSecret: revalidationSecret,
    runId: Date.now().toString(36),
  };

  // Warm both servers' first renders.
  for (const path of ["/", "/posts/hello-world", "/posts/read-your-writes"]) {
    await (await fetch(`${productUrl}${path}`)).arrayBuffer();
  }
  await (await fetch(`${baselineUrl}/`)).arrayBuffer();
  await waitForQuiet(context);

  const pageLoad = {
    staticPath,
    durationSeconds: plan.loadSeconds,
    warmupSeconds: plan.warmupSeconds,
    connections: 10,
    rounds: plan.rounds,
  };
  // First, before any revalidation: a page revalidated moments ago is served stale while it re-renders.
  if (only) {
    if (only === "receiver") await receiverMeasures(context, productLog);
    else {
      const page = await measureCachedPage(context, pageLoad);
      progress(
        `  page ${Math.round(page.page.requestsPerSecond)} req/s, static ${Math.round(page.staticFile.requestsPerSecond)} req/s; server CPU/request ${page.cpu.page.toFixed(2)} vs ${page.cpu.staticFile.toFixed(2)} ms`,
      );
    }
    memory.stop();
    await stopProcessGroup(product);
    await stopProcessGroup(baseline);
    progress(`BENCH_ONLY=${only}: done${cpuProfile ? ` (profile in ${join(workDir, "cpu-prof")})` : ""}`);
    return;
  }
  progress("cached home page vs a static file of the same size …");
  const cachedPage = await measureCachedPage(context, pageLoad);
  progress(
    `  page ${Math.round(cachedPage.page.requestsPerSecond)} req/s (p99 ${cachedPage.page.latency.p99} ms), static ${Math.round(cachedPage.staticFile.requestsPerSecond)} req/s (p99 ${cachedPage.staticFile.latency.p99} ms), ${cachedPage.bytes} bytes; server CPU/request ${cachedPage.cpu.page.toFixed(2)} vs ${cachedPage.cpu.staticFile.toFixed(2)} ms`,
  );

  const { roundTrips, baselineSequential, receiver } = await receiverMeasures(context, productLog);

  progress(`webhook → fresh page (${plan.freshnessTrials} trials) …`);
  const freshness = await measureFreshness(context, plan.freshnessTrials);

  progress(`Server Action → own write visible (${plan.actionTrials} trials per mode, Chromium) …`);
  const actions = await measureActions(context, { trials: plan.actionTrials, modes: ["no-js", "js"] });

  const memoryReport = memory.stop();
  await stopProcessGroup(product);
  await stopProcessGroup(baseline);

  // After the single servers are gone, so that only the cluster's instances use the CPU and Redis.
  progress(`several instances: ${INSTANCES} × next start of the same build (scripts/cluster) …`);
  const instances = await measureInstances(context, serverEnv, {
    trials: plan.instanceTrials,
    idleSeconds: plan.idleSeconds,
    loadSeconds: plan.loadSeconds,
    warmupSeconds: plan.warmupSeconds,
    rounds: plan.rounds,
    hitRequests: plan.hitRequests,
  });

  const results: BenchResults = {
    quick,
    startedAt: started.toISOString(),
    durationSeconds: 0,
    buildSeconds,
    skippedBuild: skipBuild,
    machine,
    loadAverageAtEnd: machineInfo(root).loadAverage,
    plan,
    roundTrips,
    baselineSequentialP50: percentile(baselineSequential, 50),
    receiver,
    cachedPage,
    freshness,
    actions,
    instances,
    memory: memoryReport,
  };
  results.durationSeconds = (Date.now() - started.getTime()) / 1000;
  const reportPath = quick ? join(workDir, "benchmarks.md") : join(root, "docs", "benchmarks.md");
  writeReport(reportPath, results);
  writeFileSync(join(workDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  progress(
    `done in ${Math.round(results.durationSeconds)} s: ${reportPath} (raw numbers in .bench/results.json)`,
  );
}

/** The receiver's measures: round trips one request at a time, then throughput under load. */
async function receiverMeasures(context: BenchContext, productLog: string) {
  const { progress, baselineUrl } = context;
  progress(
    `Redis round trips per receiver request (${plan.roundTripRequests} sequential requests per path) …`,
  );
  const roundTrips = {
    unique: await measureRoundTrips(context, {
      requests: plan.roundTripRequests,
      duplicate: false,
      serverLog: productLog,
      cold: true,
    }),
    duplicate: await measureRoundTrips(context, {
      requests: plan.roundTripRequests,
      duplicate: true,
      serverLog: productLog,
    }),
  };
  for (const [path, result] of Object.entries(roundTrips)) {
    progress(
      `  ${path}: critical path ${result.criticalPath.mean} (max ${result.criticalPath.max}), after the response ${result.afterResponse.mean}, total ${result.total.roundTrips} round trips / ${result.total.commands} commands; ${JSON.stringify(result.statuses)}`,
    );
  }

  const baselineSequential = await measureSequentialLatency(
    `${baselineUrl}/api/revalidate`,
    { authorization: `Bearer ${context.baselineSecret}`, "content-type": "application/json" },
    (i) => JSON.stringify({ id: `seq-${context.runId}-${i}`, tags: ["post:hello-world"] }),
    plan.roundTripRequests,
  );
  progress(
    `  one request at a time: receiver p50 ${ms(roundTrips.unique.sequential.latencyP50)} (of which ${ms(roundTrips.unique.sequential.redisP50)} in Redis calls at the endpoint; in the server before, between and after them: ${roundTrips.unique.sequential.gapsP50.map(ms).join(", ")}), baseline p50 ${ms(percentile(baselineSequential, 50))}`,
  );

  progress(
    `receiver under load (${plan.loadSeconds} s per run after ${plan.warmupSeconds} s of warm-up; baseline, unique IDs, one repeated ID) …`,
  );
  const receiver = await measureReceiver(context, {
    durationSeconds: plan.loadSeconds,
    warmupSeconds: plan.warmupSeconds,
    rounds: plan.rounds,
  });

  return { roundTrips, baselineSequential, receiver };
}

async function reportOnly(): Promise<void> {
  const results = JSON.parse(readFileSync(join(workDir, "results.json"), "utf8")) as BenchResults;
  const reportPath = results.quick ? join(workDir, "benchmarks.md") : join(root, "docs", "benchmarks.md");
  writeReport(reportPath, results);
  console.log(`[bench] ${reportPath} rendered again from .bench/results.json (run of ${results.startedAt})`);
}

try {
  if (process.env.BENCH_REPORT_ONLY === "1") await reportOnly();
  else await main();
  await cleanup();
} catch (error) {
  console.error(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await cleanup();
  process.exitCode = 1;
}
exitWhenIdle();

/**
 * Everything the run started is stopped by now, so the process should end by itself. Runs have
 * hung here: a handle nobody closed (a timer, a keep-alive socket) kept it alive after "done". If
 * that happens, say which handles they are, so the leak can be found, and end anyway.
 */
function exitWhenIdle(): void {
  const watchdog = setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((kind) => kind !== "Timeout");
    console.error(
      `[bench] still running 10 s after cleanup; open handles: ${open.join(", ") || "none but timers"}. Exiting.`,
    );
    process.exit(process.exitCode ?? 0);
  }, 10_000);
  watchdog.unref();
}
