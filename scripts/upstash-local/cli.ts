/**
 * `npm run redis:local`: a local Upstash-compatible endpoint that stays up until Ctrl-C, for when you want
 * one Redis across several commands (`npm run dev` finds it on the default port and token by itself).
 *
 *   npm run redis:local -- [--port 8079] [--host 127.0.0.1] [--token T] [--engine auto|redis-server|in-process]
 *                          [--data-dir .data/redis | --ephemeral]
 *
 * REDIS_URL=redis://... puts the endpoint in front of that Redis instead of starting one.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  DEFAULT_PORT,
  DEFAULT_TOKEN,
  type LocalUpstash,
  probeLocalUpstash,
  startLocalUpstash,
} from "./server";

const USAGE = `Usage: npm run redis:local -- [options]

  --port N          port to listen on (default ${DEFAULT_PORT})
  --host H          address to bind (default 127.0.0.1)
  --token T         bearer token clients must send (default ${DEFAULT_TOKEN})
  --engine E        auto | redis-server | in-process (default auto: redis-server when installed)
  --data-dir D      where redis-server keeps its RDB snapshot (default .data/redis)
  --ephemeral       keep nothing on disk
  REDIS_URL=...     use that Redis instead of starting one`;

const ENGINES = ["auto", "redis-server", "in-process"] as const;
type EngineChoice = (typeof ENGINES)[number];

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

function parse() {
  try {
    const { values } = parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        token: { type: "string" },
        engine: { type: "string" },
        "data-dir": { type: "string" },
        ephemeral: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    return values;
  } catch (error) {
    return fail(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const values = parse();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    fail(`--port must be a port number, got ${values.port}`);
  const engine = (values.engine ?? "auto") as EngineChoice;
  if (!ENGINES.includes(engine)) fail(`--engine must be one of ${ENGINES.join(", ")}, got ${values.engine}`);
  if (values.ephemeral && values["data-dir"])
    fail("--ephemeral and --data-dir contradict each other; pick one.");

  const root = fileURLToPath(new URL("../../", import.meta.url));
  const dataDir = values.ephemeral ? undefined : (values["data-dir"] ?? `${root}.data/redis`);
  const host = values.host ?? "127.0.0.1";
  const token = values.token ?? DEFAULT_TOKEN;
  const redisUrl = process.env.REDIS_URL?.trim() || undefined;

  let endpoint: LocalUpstash;
  try {
    endpoint = await startLocalUpstash({ host, port, token, engine, dataDir, redisUrl });
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "EADDRINUSE") {
      const probeHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
      const ours = await probeLocalUpstash(`http://${probeHost}:${port}`, token);
      fail(
        ours
          ? `A local Upstash endpoint is already running on port ${port}; \`npm run dev\` will use it. Nothing to do.`
          : `Port ${port} on ${host} is already in use by another program. Stop it, or choose another port: npm run redis:local -- --port ${port + 1}`,
      );
    }
    return fail(
      `Could not start the local Upstash endpoint: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  const where = redisUrl
    ? `in front of ${redisUrl}`
    : endpoint.engine === "in-process"
      ? "in-process fallback, nothing kept"
      : dataDir
        ? `redis-server, data in ${dataDir.startsWith(root) ? dataDir.slice(root.length) : dataDir}`
        : "redis-server, nothing kept on disk";
  console.log(
    [
      `Local Upstash endpoint ready (${where}).`,
      port === DEFAULT_PORT && token === DEFAULT_TOKEN
        ? "`npm run dev` finds it by itself; other tools need these variables:"
        : "Point the app at it with these variables (e.g. in .env.local):",
      "",
      `UPSTASH_REDIS_REST_URL=${endpoint.url}`,
      `UPSTASH_REDIS_REST_TOKEN=${endpoint.token}`,
      "",
      "Press Ctrl-C to stop.",
    ].join("\n"),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`Second ${signal}: exiting without waiting for redis-server.`);
      process.exit(130);
    }
    stopping = true;
    console.log("\nStopping...");
    endpoint.close().then(
      () => process.exit(0),
      (error: unknown) =>
        fail(`Could not stop cleanly: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

await main();
