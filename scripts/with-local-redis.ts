/**
 * Runs a command with Redis available: `npm run dev|build|start` go through here.
 *
 *   tsx scripts/with-local-redis.ts [--local] [--ephemeral] [--port N] [--token T] <command...>
 *
 * With Upstash credentials in the environment or the .env files, the command just runs. Without them:
 * - `next dev` gets a local endpoint: it reuses one already running (`npm run redis:local` in another
 *   terminal, found through .data/upstash-local.json) or starts one for the lifetime of the command;
 * - anything else (`next build`, `next start`) gets one only when asked for explicitly, with `--local`
 *   or `UPSTASH_LOCAL=1`, and never on a deployment host (VERCEL and the like): a build or server that
 *   silently ran against a throwaway local Redis would deploy a site whose data lives nowhere.
 *   Otherwise it stops with a message naming the variables to set.
 * A chained `sh -c "next build && next start"` sees one Redis throughout (`next build` prerenders
 * cached pages, and `next start` must then read the same data). `--ephemeral` keeps nothing on disk and
 * never borrows a running endpoint; `--token` sets the endpoint's token (test harnesses pass one).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { delimiter, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import nextEnv from "@next/env";
import { hasRedisCredentials } from "../lib/env";
import { devBanner, devPort, ensureDevSecrets, recordDevServer } from "./dev-secrets";
import { readEndpointFile, removeEndpointFile, writeEndpointFile } from "./upstash-local/endpoint-file";
import { localEndpointRefusal } from "./upstash-local/policy";
import {
  DEFAULT_PORT,
  type LocalUpstash,
  probeLocalUpstash,
  startLocalUpstash,
} from "./upstash-local/server";

const root = fileURLToPath(new URL("../", import.meta.url));

const USAGE =
  "Usage: tsx scripts/with-local-redis.ts [--local] [--ephemeral] [--port N] [--token T] <command...>";

function fail(message: string, code = 1): never {
  console.error(message);
  process.exit(code);
}

function parse(argv: string[]) {
  let ephemeral = false;
  let local = false;
  let token: string | undefined;
  let port: number | undefined;
  let i = 0;
  // Only leading options are ours; everything from the command on passes through untouched (`-- -p 4000`).
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--ephemeral") ephemeral = true;
    else if (arg === "--local") local = true;
    else if (arg === "--token") {
      token = argv[++i];
      if (!token || token.length < 16) fail(`--token needs a token of at least 16 characters.\n${USAGE}`);
    } else if (arg === "--port") {
      port = Number(argv[++i]);
      if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port needs a port number.\n${USAGE}`);
    } else if (arg === "--") {
      i++;
      break;
    } else break;
  }
  const command = argv.slice(i);
  if (command.length === 0) fail(USAGE);
  return { ephemeral, local, token, port, command };
}

async function provideRedis(options: {
  ephemeral: boolean;
  port: number | undefined;
  token: string | undefined;
}): Promise<{
  env: Record<string, string>;
  endpoint?: LocalUpstash;
}> {
  const preferred = options.port ?? DEFAULT_PORT;
  // An ephemeral run promises a fresh store, so it never borrows a running (persistent) endpoint; an
  // explicit port or token is a promise to whoever else talks to it, so neither does that.
  const running = readEndpointFile(root);
  if (
    !options.ephemeral &&
    options.port === undefined &&
    options.token === undefined &&
    running &&
    (await probeLocalUpstash(running.url, running.token))
  ) {
    console.error(`[upstash-local] Using the local Redis endpoint already running at ${running.url}.`);
    return { env: { UPSTASH_REDIS_REST_URL: running.url, UPSTASH_REDIS_REST_TOKEN: running.token } };
  }

  const dataDir = options.ephemeral ? undefined : join(root, ".data", "redis");
  const start = (port: number) => startLocalUpstash({ port, dataDir, token: options.token });
  let endpoint: LocalUpstash;
  try {
    endpoint = await start(preferred);
  } catch (error) {
    const inUse = error instanceof Error && "code" in error && error.code === "EADDRINUSE";
    // An explicit --port is a promise to whoever else talks to it (e.g. e2e tests seeding data): keep it or stop.
    if (!inUse || options.port !== undefined) {
      fail(
        inUse
          ? `Port ${preferred} is already in use; free it or pass another --port.`
          : `Could not start a local Redis endpoint: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    endpoint = await start(0);
  }

  const storage =
    endpoint.engine === "in-process"
      ? "in-process fallback, nothing kept"
      : dataDir
        ? `data in ${relative(process.cwd(), dataDir) || "."}`
        : "ephemeral";
  console.error(
    `[upstash-local] No Upstash credentials found, so a local Redis endpoint runs at ${endpoint.url} (${endpoint.engine}, ${storage}) for this command, with a new random token.`,
  );
  if (dataDir) writeEndpointFile(root, endpoint);
  return {
    env: { UPSTASH_REDIS_REST_URL: endpoint.url, UPSTASH_REDIS_REST_TOKEN: endpoint.token },
    endpoint,
  };
}

async function main(): Promise<void> {
  const { ephemeral, local: explicit, token, port, command } = parse(process.argv.slice(2));
  const [program = "", ...args] = command;

  // Only to decide whether credentials exist: the child gets the original environment, so that Next.js
  // loads the .env files itself and still picks up edits to them while `next dev` runs.
  // Registered before anything starts, so a signal during start-up still stops the endpoint we start.
  let child: ChildProcess | undefined;
  let interruptedBy: NodeJS.Signals | undefined;
  const forward = (signal: NodeJS.Signals) => {
    if (!child) interruptedBy ??= signal;
    else if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, forward);

  const originalEnv = { ...process.env };
  const dev = program === "next" && args[0] === "dev";
  nextEnv.loadEnvConfig(root, dev, {
    info: () => {},
    error: (...parts: unknown[]) => console.error(...parts),
  });
  // `npm run dev` works with no configuration at all: development-only secrets are generated once.
  let devServer: { url: string; generated: string[]; forget: () => void } | undefined;
  if (dev) {
    const url = `http://localhost:${devPort(args, process.env)}`;
    devServer = { url, generated: ensureDevSecrets(root, process.env), forget: recordDevServer(root, url) };
  }
  const configured = hasRedisCredentials(process.env);
  if (!configured) {
    const refusal = localEndpointRefusal({ command, explicit, env: process.env });
    if (refusal) fail(refusal);
  }
  const { env: redisVars, endpoint } = configured
    ? { env: {} }
    : await provideRedis({ ephemeral, port, token });

  if (interruptedBy) {
    if (endpoint) removeEndpointFile(root, endpoint.token);
    await endpoint?.close();
    process.exit(128 + constants.signals[interruptedBy]);
  }

  if (devServer) console.log(devBanner(devServer.url, process.env, devServer.generated));

  const bin = join(root, "node_modules", ".bin");
  const local = join(bin, program);
  const running = spawn(existsSync(local) ? local : program, args, {
    stdio: "inherit",
    env: {
      ...originalEnv,
      ...redisVars,
      // So that a chained `sh -c "next build && next start"` finds `next` as `npm run` would.
      PATH: [bin, originalEnv.PATH].filter(Boolean).join(delimiter),
    },
  });

  child = running;

  const code = await new Promise<number>((resolveCode) => {
    running.once("error", (error) => {
      console.error(`Could not run ${program}: ${error.message}`);
      resolveCode(127);
    });
    running.once("exit", (exitCode, signal) => {
      resolveCode(exitCode ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  devServer?.forget();
  if (endpoint) removeEndpointFile(root, endpoint.token);
  await endpoint?.close();
  process.exit(code);
}

await main();
