/**
 * `npm run cluster`: builds once and serves three `next start` instances behind a round-robin
 * front on http://127.0.0.1:3000, to see on a laptop what a self-hosted deployment on several
 * servers does. package.json runs it through scripts/with-local-redis.ts, so without Upstash
 * variables all instances share the local Redis endpoint (as `npm run dev` does). Ctrl-C stops
 * everything.
 */
import nextEnv from "@next/env";
import { exitWithProblem, parseCommandLine, UsageError } from "../lib-cli/revalidation-env";
import { type Cluster, PROJECT_ROOT, startCluster } from "./cluster";
import { PIN_HEADER, SERVED_BY_HEADER } from "./front";

const HELP = `Serve several next start instances of one build behind a round-robin front.

Usage: npm run cluster -- [--port 3000] [--instances 3] [--reuse-build]

  --port <n>         the front's port (default 3000); instances take the next ones (3001, 3002, …)
  --instances <n>    how many instances (default 3)
  --reuse-build      serve the existing .next instead of running next build first
  -h, --help         show this help

Each instance serves its own copy of the build (.next-cluster-i1, …; logs in .next-cluster-logs/).`;

const OPTIONS = {
  port: { type: "string" },
  instances: { type: "string" },
  "reuse-build": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

function integer(
  value: string | undefined,
  fallback: number,
  name: string,
  min: number,
  max: number,
): number {
  const parsed = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${value}.\n\n${HELP}`);
  }
  return parsed;
}

async function main(): Promise<void> {
  const values = parseCommandLine(OPTIONS, HELP);
  if (!values) return;
  const port = integer(values.port, 3000, "port", 1, 65_000);
  const count = integer(values.instances, 3, "instances", 1, 16);

  // The variables Next itself would load (.env.local and friends), so that the check for Redis
  // credentials, and the environment every instance shares, see them.
  nextEnv.loadEnvConfig(PROJECT_ROOT, false, { info: () => undefined, error: console.error });

  let cluster: Cluster | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n[cluster] ${signal}: stopping the instances …`);
    void (cluster?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, stop);

  cluster = await startCluster({
    env: process.env,
    instances: count,
    reuseBuild: values["reuse-build"] === true,
    frontPort: port,
    ports: Array.from({ length: count }, (_, i) => port + 1 + i),
  });
  if (stopping) return;

  const lines = [
    "",
    `Front (round robin): ${cluster.frontUrl}   every response says who answered: ${SERVED_BY_HEADER}`,
    ...cluster
      .instances()
      .map(
        (i) =>
          `  ${i.id}: ${i.url}  (build copy ${i.distDir.slice(PROJECT_ROOT.length)}, log ${i.logFile.slice(PROJECT_ROOT.length)})`,
      ),
    "",
    `Pin a request to one instance: curl -si -H '${PIN_HEADER}: i2' ${cluster.frontUrl}/ | grep -i ${SERVED_BY_HEADER}`,
    "Press Ctrl-C to stop everything.",
  ];
  console.log(lines.join("\n"));
}

main().catch(exitWithProblem);
