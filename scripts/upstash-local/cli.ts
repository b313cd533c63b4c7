/**
 * `npm run redis:local`: a local Upstash-compatible endpoint that stays up until Ctrl-C, for when you want
 * one Redis across several commands. It makes a random token per start, prints it, and leaves address
 * and token in .data/upstash-local.json, where `npm run dev` finds them.
 *
 *   npm run redis:local -- [--port 8079] [--host 127.0.0.1] [--token T] [--engine auto|redis-server|in-process]
 *                          [--data-dir .data/redis | --ephemeral]
 *
 * REDIS_URL=redis://... puts the endpoint in front of that Redis instead of starting one.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readEndpointFile, removeEndpointFile, writeEndpointFile } from "./endpoint-file";
import { DEFAULT_PORT, isLoopbackBind, type LocalUpstash, newLocalToken, startLocalUpstash } from "./server";

const USAGE = `Usage: npm run redis:local -- [options]

  --port N          port to listen on (default ${DEFAULT_PORT})
  --host H          loopback address to bind: 127.0.0.1 (default), ::1 or localhost
  --token T         bearer token clients must send (default: a new random one per start)
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
  if (!isLoopbackBind(host))
    fail(`--host must be a loopback address (127.0.0.1, ::1 or localhost), got ${host}.`);
  const token = values.token ?? newLocalToken();
  const redisUrl = process.env.REDIS_URL?.trim() || undefined;

  let endpoint: LocalUpstash;
  try {
    endpoint = await startLocalUpstash({ host, port, token, engine, dataDir, redisUrl });
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "EADDRINUSE") {
      const running = readEndpointFile(root);
      fail(
        running?.url.endsWith(`:${port}`)
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
      "`npm run dev` finds it by itself (through .data/upstash-local.json); other tools need these variables:",
      "",
      `UPSTASH_REDIS_REST_URL=${endpoint.url}`,
      `UPSTASH_REDIS_REST_TOKEN=${endpoint.token}`,
      "",
      "The token is new on every start. Press Ctrl-C to stop.",
    ].join("\n"),
  );
  writeEndpointFile(root, endpoint);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`Second ${signal}: exiting without waiting for redis-server.`);
      process.exit(130);
    }
    stopping = true;
    console.log("\nStopping...");
    removeEndpointFile(root, endpoint.token);
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
