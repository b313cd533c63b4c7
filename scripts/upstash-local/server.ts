/**
 * A local endpoint that speaks the Upstash Redis REST protocol, so `@upstash/redis` and `@upstash/ratelimit`
 * run unchanged against a real Redis on a developer's machine or in CI. Not deployed.
 *
 * Routes: POST / (one command), POST /pipeline, POST /multi-exec (a real MULTI/EXEC), the path form
 * (POST /set/key/value), and GET /_local/stats + POST /_local/stats/reset, so a benchmark in another process
 * can count round trips. Every route needs `Authorization: Bearer <token>`.
 *
 * Safe to leave running on a laptop:
 * - the token is random per start (unless a caller passes one), never a well-known value;
 * - it listens on loopback only, and answers only requests whose Host is a loopback name and that
 *   carry no Origin header, so a web page cannot reach it through DNS rebinding or a cross-site fetch
 *   (browsers always send Origin on those; server-side clients such as @upstash/redis never do);
 * - it runs only the commands in allowed-commands.ts (and, on a redis-server it started, holds Lua
 *   scripts to the same list through a Redis ACL user).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { aclRules, commandRefusal } from "./allowed-commands";
import {
  connectRedisUrl,
  type Engine,
  findRedisServer,
  inProcessWarning,
  type Log,
  type RedisEngine,
  startInProcess,
  startRedisServer,
} from "./engine";
import { ScriptRegistry } from "./lua";
import {
  type Command,
  CommandError,
  parseCommand,
  parseCommands,
  parsePathCommand,
  type Reply,
  RequestError,
  toResultItem,
} from "./protocol";

export type { Engine } from "./engine";

export interface LocalUpstashOptions {
  /** A loopback address (127.0.0.1, ::1, localhost); anything else is refused. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Default: a random token for this start (see `newLocalToken`). Test harnesses pass their own. */
  token?: string;
  /** Use an existing Redis (e.g. redis://127.0.0.1:6379) instead of starting one. */
  redisUrl?: string;
  /** auto: a real redis-server when the binary exists, else the in-process fallback. */
  engine?: "auto" | Engine;
  /** redis-server persistence directory (RDB); undefined keeps nothing. */
  dataDir?: string;
  log?: (line: string) => void;
}

export interface LocalUpstash {
  url: string;
  token: string;
  engine: Engine;
  stats(): { requests: number; commands: number; byPath: Record<string, number> };
  resetStats(): void;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8079;
/** Identifies this endpoint in `GET /_local/stats`, so a second command can find and reuse a running one. */
export const SERVER_NAME = "upstash-local";

const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** A fresh random bearer token: 32 bytes, base64url. */
export function newLocalToken(): string {
  return randomBytes(32).toString("base64url");
}

const LOOPBACK_BINDS = new Set(["127.0.0.1", "::1", "localhost"]);

export function isLoopbackBind(host: string): boolean {
  return LOOPBACK_BINDS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether a Host header names this machine's loopback (DNS rebinding sends the attacker's name). */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return false;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:]+)(?::\d{1,5})?$/.exec(host.trim());
  const name = match?.[1]?.toLowerCase();
  if (!name) return false;
  return name === "localhost" || name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

function refusal(command: Command): Error | undefined {
  const reason = commandRefusal(command);
  return reason === undefined ? undefined : new Error(reason);
}

async function openEngine(options: LocalUpstashOptions, log: Log): Promise<RedisEngine> {
  if (options.redisUrl) {
    const engine = await connectRedisUrl(options.redisUrl);
    log(`[upstash-local] using the Redis at ${options.redisUrl}`);
    return engine;
  }
  const choice = options.engine ?? "auto";
  if (choice === "redis-server" || (choice === "auto" && findRedisServer())) {
    return startRedisServer(options.dataDir, log);
  }
  log(
    inProcessWarning(
      choice === "auto" ? "redis-server was not found" : "the in-process engine was requested",
    ),
  );
  return startInProcess();
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const tooLarge = () =>
      new RequestError(413, `ERR the request body is larger than ${MAX_BODY_BYTES} bytes`);
    if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolveBody(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...(status === 413 ? { connection: "close" } : {}),
  });
  res.end(text);
}

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::" || host === "") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

export async function startLocalUpstash(options: LocalUpstashOptions = {}): Promise<LocalUpstash> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopbackBind(host)) {
    throw new Error(
      `The local Upstash endpoint listens on loopback only (127.0.0.1, ::1 or localhost), not ${host}: it is a development tool, not a server for other machines.`,
    );
  }
  const token = options.token ?? newLocalToken();
  if (token.length < 16) throw new Error("The local endpoint's token must be at least 16 characters.");
  const log = options.log ?? ((line: string) => console.error(line));
  const engine = await openEngine(options, log);
  if (!options.redisUrl && engine.restrictTo) {
    try {
      await engine.restrictTo(aclRules());
    } catch (error) {
      await engine.close();
      throw new Error(
        `Could not limit the endpoint's Redis user to the allowed commands: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  const scripts = new ScriptRegistry(engine.luaShebang);
  const expectedAuth = digest(`Bearer ${token}`);

  let counters = { requests: 0, commands: 0, byPath: {} as Record<string, number> };
  const snapshot = () => ({ ...counters, byPath: { ...counters.byPath } });

  async function runCommand(command: Command): Promise<Reply> {
    counters.commands += 1;
    const refused = refusal(command);
    if (refused) return refused;
    const { command: translated, fixReply } = scripts.translate(command);
    const reply = await engine.run(translated);
    return fixReply ? fixReply(reply) : reply;
  }

  async function runTransaction(commands: Command[]): Promise<Reply[]> {
    counters.commands += commands.length;
    for (const command of commands) {
      const refused = refusal(command);
      if (refused) throw new CommandError(refused.message);
    }
    const translations = commands.map((command) => scripts.translate(command));
    const replies = await engine.transaction(translations.map((t) => t.command));
    return replies.map((reply, i) => translations[i]?.fixReply?.(reply) ?? reply);
  }

  /**
   * Open server-sent-event streams and how to stop each one's Redis subscription: ended when the
   * endpoint closes, before the engine, so no subscriber connection is left reconnecting forever.
   */
  const streams = new Map<ServerResponse, () => Promise<void>>();

  /**
   * `POST /subscribe/<channel>`, as Upstash serves it to `redis.subscribe()`: a server-sent-event
   * stream of `subscribe,<channel>,1` and then `message,<channel>,<message>` lines, until either side
   * closes it. One Redis connection per stream.
   */
  async function subscribe(req: IncomingMessage, res: ServerResponse, channel: string): Promise<void> {
    if (req.method !== "POST" || channel === "" || channel.includes("/")) {
      send(res, 400, { error: "ERR subscribe with POST /subscribe/<channel> (one channel)" });
      return;
    }
    counters.commands += 1;
    const unsubscribe = await engine.subscribe(channel, (message) => {
      res.write(`data: message,${channel},${message.toString()}\n\n`);
    });
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= unsubscribe();
      return stopping;
    };
    streams.set(res, stop);
    res.writeHead(200, {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
    });
    res.write(`data: subscribe,${channel},1\n\n`);
    res.on("close", () => {
      streams.delete(res);
      void stop();
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { pathname } = new URL(req.url ?? "/", "http://local");
    const isLocal = pathname === "/_local" || pathname.startsWith("/_local/");
    if (!isLocal) {
      // Path-form requests are counted by command name, so the keys stay few.
      const [first = ""] = pathname.split("/").filter(Boolean);
      const key = ["", "pipeline", "multi-exec"].includes(first) ? `/${first}` : `/${first.toLowerCase()}`;
      counters.requests += 1;
      counters.byPath[key] = (counters.byPath[key] ?? 0) + 1;
    }

    // Before the token: a browser tricked into calling us learns nothing, not even whether it guessed right.
    if (!isLoopbackHostHeader(req.headers.host)) {
      req.resume();
      send(res, 403, {
        error:
          "ERR the local Upstash endpoint answers only requests addressed to localhost, 127.0.0.1 or [::1] (this Host header is not one)",
      });
      return;
    }
    if (req.headers.origin !== undefined) {
      req.resume();
      send(res, 403, {
        error:
          "ERR the local Upstash endpoint does not answer browsers: requests with an Origin header are refused. Call it from server code (@upstash/redis).",
      });
      return;
    }

    if (!timingSafeEqual(digest(req.headers.authorization ?? ""), expectedAuth)) {
      req.resume();
      send(res, 401, { error: "Unauthorized" });
      return;
    }

    if (isLocal) {
      req.resume();
      if (pathname === "/_local/stats" && req.method === "GET") {
        send(res, 200, { server: SERVER_NAME, engine: engine.kind, ...snapshot() });
      } else if (pathname === "/_local/stats/reset" && req.method === "POST") {
        counters = { requests: 0, commands: 0, byPath: {} };
        send(res, 200, { server: SERVER_NAME, engine: engine.kind, ...snapshot() });
      } else {
        send(res, 404, {
          error: "ERR unknown local route; use GET /_local/stats or POST /_local/stats/reset",
        });
      }
      return;
    }

    if (pathname.startsWith("/subscribe/")) {
      req.resume();
      await subscribe(req, res, decodeURIComponent(pathname.slice("/subscribe/".length)));
      return;
    }

    const isBodyRoute = pathname === "/" || pathname === "/pipeline" || pathname === "/multi-exec";
    if (req.method !== "POST" && !(req.method === "GET" && !isBodyRoute)) {
      req.resume();
      send(res, 405, { error: `ERR ${req.method} is not allowed here; send commands with POST` });
      return;
    }

    const body = await readBody(req);
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";

    if (pathname === "/pipeline" || pathname === "/multi-exec") {
      const commands = parseCommands(body);
      const replies =
        pathname === "/pipeline"
          ? // Started in order without awaiting in between, so they reach Redis in request order.
            await Promise.all(commands.map(runCommand))
          : await runTransaction(commands);
      send(
        res,
        200,
        replies.map((reply) => toResultItem(reply, base64)),
      );
      return;
    }

    const command = pathname === "/" ? parseCommand(body) : parsePathCommand(pathname, body);
    const item = toResultItem(await runCommand(command), base64);
    send(res, "error" in item ? 400 : 200, item);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof RequestError) send(res, error.status, { error: error.message });
      else if (error instanceof CommandError) send(res, 400, { error: error.message });
      else
        send(res, 500, {
          error: `ERR upstash-local: ${error instanceof Error ? error.message : String(error)}`,
        });
    });
  });
  // Keep-alive sockets from fetch would otherwise hold close() open.
  server.keepAliveTimeout = 5000;

  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => {
        server.off("error", reject);
        resolveListen();
      });
    });
  } catch (error) {
    await engine.close();
    throw error;
  }

  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${port}`,
    token,
    engine: engine.kind,
    stats: snapshot,
    resetStats() {
      counters = { requests: 0, commands: 0, byPath: {} };
    },
    close() {
      closing ??= (async () => {
        const subscriptions = [...streams.values()];
        await new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections();
        });
        await Promise.all(subscriptions.map((stop) => stop()));
        await engine.close();
      })();
      return closing;
    },
  };
}

/** Whether a local endpoint from this project answers at `url` with `token` (used to reuse a running one). */
export async function probeLocalUpstash(url: string, token: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_local/stats`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(1000),
    });
    if (!res.ok) return false;
    const body: unknown = await res.json();
    return typeof body === "object" && body !== null && "server" in body && body.server === SERVER_NAME;
  } catch {
    return false;
  }
}
