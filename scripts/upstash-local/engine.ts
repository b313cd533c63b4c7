/**
 * The Redis behind the endpoint: a `redis-server` child process, an existing Redis at a URL, or, when no
 * binary exists, ioredis-mock in this process. All three answer through the same small interface, with
 * replies as raw bytes so binary values round-trip exactly.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { accessSync, constants, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { Redis } from "ioredis";
import { sha1 } from "./lua";
import { type Command, CommandError, type Reply } from "./protocol";

export type Engine = "redis-server" | "in-process";

export interface RedisEngine {
  readonly kind: Engine;
  /** The Redis URL, when there is a real server others can connect to. */
  readonly redisUrl: string | undefined;
  /** Whether the engine's Lua understands a `#!lua` shebang line. */
  readonly luaShebang: boolean;
  /** Resolves to the reply; a top-level `Error` means the command failed (its message is Redis's text). */
  run(command: Command): Promise<Reply>;
  /** MULTI/EXEC. Rejects with a CommandError (EXECABORT ...) when the transaction is discarded. */
  transaction(commands: Command[]): Promise<Reply[]>;
  /**
   * SUBSCRIBE on a connection of its own (a subscribed connection can do nothing else): calls
   * `onMessage` for every message published to `channel` until the returned function is called.
   */
  subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<() => Promise<void>>;
  /**
   * Switches this engine's connection to a Redis user limited by `rules` (ACL syntax), so Lua
   * scripts are held to the same commands as requests. Only engines that support it have it.
   */
  restrictTo?(rules: string[]): Promise<void>;
  close(): Promise<void>;
}

/** What `subscribe` does on any ioredis-shaped client (real or ioredis-mock): a duplicate, subscribed. */
async function subscribeOn(
  client: Redis,
  channel: string,
  onMessage: (message: Buffer) => void,
): Promise<() => Promise<void>> {
  const subscriber = client.duplicate();
  subscriber.on("error", () => {});
  // "message" (text), not "messageBuffer": ioredis-mock emits only the former.
  subscriber.on("message", (from: string, message: string) => {
    if (from === channel) onMessage(Buffer.from(message));
  });
  await subscriber.subscribe(channel);
  return async () => {
    // UNSUBSCRIBE first (ioredis-mock keeps a closed connection's subscriptions), but not for long:
    // Redis may already be gone. Then disconnect, which never reconnects and never waits.
    await Promise.race([
      subscriber.unsubscribe(channel).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 200).unref()),
    ]);
    subscriber.disconnect();
  };
}

export type Log = (line: string) => void;

const EXECABORT = "EXECABORT Transaction discarded because of previous errors.";

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Brings whatever a client library returned into the reply shape; RESP2 has no booleans or floats. */
export function normalizeReply(value: unknown): Reply {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === "string") return Buffer.from(value);
  // Lua numbers become integer replies in Redis (3.7 -> 3); ioredis-mock hands back the Lua value as is.
  if (typeof value === "number") return Math.trunc(value);
  if (typeof value === "bigint") return Number(value);
  // Lua true -> 1 and false -> nil, as Redis converts them.
  if (typeof value === "boolean") return value ? 1 : null;
  if (value instanceof Error) return new Error(value.message);
  if (Array.isArray(value)) return value.map(normalizeReply);
  if (value instanceof Map) return [...value].flat().map(normalizeReply);
  // ioredis-mock answers HGETALL with an object; Redis with a flat field/value array.
  if (typeof value === "object") return Object.entries(value).flat().map(normalizeReply);
  return Buffer.from(String(value));
}

// ---------------------------------------------------------------------------------------------
// Real Redis over ioredis

class IoRedisEngine implements RedisEngine {
  readonly kind = "redis-server" as const;
  readonly luaShebang = true;

  constructor(
    private readonly client: Redis,
    readonly redisUrl: string,
    private readonly onClose: () => Promise<void>,
  ) {}

  async run([name = "", ...args]: Command): Promise<Reply> {
    try {
      // Upper case skips ioredis's reply transformers, which are keyed by the lower-case name (HGETALL to an object).
      return normalizeReply(await this.client.callBuffer(name.toUpperCase(), ...args));
    } catch (error) {
      return new Error(errorMessage(error));
    }
  }

  async transaction(commands: Command[]): Promise<Reply[]> {
    // ioredis writes MULTI, the commands and EXEC back to back on the one connection, so nothing interleaves.
    const multi = this.client.multi();
    for (const [name = "", ...args] of commands) multi.callBuffer(name.toUpperCase(), ...args);
    let results: [Error | null, unknown][] | null;
    try {
      results = await multi.exec();
    } catch (error) {
      throw new CommandError(errorMessage(error));
    }
    if (results === null) throw new CommandError(EXECABORT);
    return results.map(([error, value]) => (error ? new Error(error.message) : normalizeReply(value)));
  }

  subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<() => Promise<void>> {
    return subscribeOn(this.client, channel, onMessage);
  }

  async restrictTo(rules: string[]): Promise<void> {
    const user = `upstash-local-${randomUUID()}`;
    const password = randomBytes(24).toString("hex");
    await this.client.call("ACL", "SETUSER", user, "reset", "on", `>${password}`, "~*", "&*", ...rules);
    await this.client.call("AUTH", user, password);
    // A reconnect authenticates as the restricted user too; its ready check (INFO) is not allowed.
    this.client.options.username = user;
    this.client.options.password = password;
    this.client.options.enableReadyCheck = false;
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
    await this.onClose();
  }
}

async function connect(url: string, deadline: number, isDead: () => string | undefined): Promise<Redis> {
  let lastError = "";
  for (;;) {
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      // Each attempt is a fresh client; the long-lived one keeps ioredis's own reconnect behaviour.
      retryStrategy: () => null,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      client.removeAllListeners("error");
      client.options.retryStrategy = (times) => Math.min(times * 100, 2000);
      client.on("error", () => {});
      return client;
    } catch (error) {
      lastError = errorMessage(error);
      client.disconnect();
    }
    const dead = isDead();
    if (dead !== undefined) throw new Error(dead);
    if (Date.now() > deadline) throw new Error(`Redis at ${url} did not answer PING: ${lastError}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

export async function connectRedisUrl(url: string): Promise<RedisEngine> {
  const client = await connect(url, Date.now() + 5000, () => undefined).catch((error: unknown) => {
    throw new Error(`Could not reach the Redis at REDIS_URL (${url}): ${errorMessage(error)}`);
  });
  return new IoRedisEngine(client, url, async () => {});
}

// ---------------------------------------------------------------------------------------------
// A redis-server child process

const SEARCH_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/opt/homebrew/bin"];

export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, "redis-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => resolveExit(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolveExit(true);
    });
  });
}

async function startRedisServerOnce(
  binary: string,
  dataDir: string | undefined,
  log: Log,
): Promise<RedisEngine> {
  const port = await freePort();
  const persistence = dataDir
    ? ["--dir", resolve(dataDir), "--dbfilename", "dump.rdb", "--save", "60 1"]
    : ["--save", ""];
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const child = spawn(
    binary,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--daemonize",
      "no",
      "--appendonly",
      "no",
      "--loglevel",
      "warning",
      ...persistence,
    ],
    // Not detached: a signal to the whole process group (Ctrl-C, a test runner killing its web server)
    // must reach redis-server too, or it outlives us holding the port.
    { cwd: dataDir ? resolve(dataDir) : tmpdir(), stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  const remember = (chunk: Buffer) => {
    output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    output.splice(0, Math.max(0, output.length - 20));
  };
  child.stdout?.on("data", remember);
  child.stderr?.on("data", remember);
  let closing = false;
  let started = false;
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  child.once("exit", (code, signal) => {
    if (!closing && started)
      log(`[upstash-local] redis-server exited unexpectedly (${signal ?? `code ${code}`}).`);
  });
  // A plain `exit` listener is the last chance to stop the child when the host process ends without close().
  const killOnExit = () => child.kill("SIGTERM");
  process.on("exit", killOnExit);

  const stop = async () => {
    closing = true;
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    // SIGTERM lets Redis write its final RDB snapshot when persisting.
    child.kill("SIGTERM");
    if (!(await waitForExit(child, 10_000))) {
      child.kill("SIGKILL");
      await waitForExit(child, 2000);
    }
  };

  const url = `redis://127.0.0.1:${port}`;
  try {
    const client = await connect(url, Date.now() + 10_000, () => {
      if (spawnError) return `could not run ${binary}: ${spawnError.message}`;
      if (child.exitCode !== null || child.signalCode !== null) {
        return `redis-server exited during start-up:\n${output.join("\n")}`;
      }
      return undefined;
    });
    started = true;
    return new IoRedisEngine(client, url, stop);
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startRedisServer(dataDir: string | undefined, log: Log): Promise<RedisEngine> {
  const binary = findRedisServer();
  if (!binary) {
    throw new Error(
      "redis-server was not found (looked in PATH, /usr/bin, /usr/sbin). Install it: sudo apt-get install -y redis-server (Debian/Ubuntu) or brew install redis (macOS).",
    );
  }
  // The free port is only reserved until we close the probe socket; another process can take it in between.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startRedisServerOnce(binary, dataDir, log);
    } catch (error) {
      lastError = error;
      if (!/Address already in use/i.test(errorMessage(error))) break;
    }
  }
  throw lastError;
}

// ---------------------------------------------------------------------------------------------
// The in-process fallback: ioredis-mock

/** Loud on purpose: someone reading the start-up output must not mistake the fallback for Redis. */
export function inProcessWarning(reason: string): string {
  const bar = "!".repeat(88);
  return [
    "",
    bar,
    `!!! upstash-local: ${reason}, so this is the IN-PROCESS FALLBACK (ioredis-mock).`,
    "!!! It is NOT a real Redis:",
    "!!!  - some commands are missing, argument checks are looser, some error texts differ;",
    "!!!  - Lua runs in fengari: its error texts and a few conversions differ from Redis;",
    "!!!  - nothing is persisted: every start begins empty;",
    "!!!  - the data lives in this one process: nothing else can connect to it.",
    "!!! For faithful behaviour install Redis: sudo apt-get install -y redis-server",
    bar,
    "",
  ].join("\n");
}

const TYPE_OF_COMMAND = new Map<string, string>(
  Object.entries({
    string: "get getset getdel getex append strlen getrange setrange incr incrby decr decrby incrbyfloat",
    list: "lpush rpush lpushx rpushx lpop rpop lrange llen lindex lset lrem ltrim linsert lpos",
    hash: "hset hsetnx hmset hget hmget hgetall hdel hlen hkeys hvals hexists hincrby hincrbyfloat hstrlen hrandfield hscan",
    set: "sadd srem smembers sismember smismember scard spop srandmember sscan",
    zset: "zadd zrem zrange zrevrange zrangebyscore zrevrangebyscore zrangebylex zscore zmscore zincrby zcard zcount zlexcount zrank zrevrank zremrangebyscore zremrangebyrank zremrangebylex zpopmin zpopmax zscan",
  }).flatMap(([type, names]) => names.split(" ").map((name): [string, string] => [name, type])),
);

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

// ioredis-mock only recognises upper-case option keywords (`SET k v NX EX 10`); Redis and the Upstash client
// (which sends "nx", "ex", "withscores") don't care. The index is where options may start, so that a key or
// value that happens to read "nx" is never touched.
const OPTIONS_FROM = new Map<string, number>(
  Object.entries({
    set: 2,
    getex: 1,
    expire: 2,
    pexpire: 2,
    expireat: 2,
    pexpireat: 2,
    zadd: 1,
    zrange: 3,
    zrangebyscore: 3,
    zrevrangebyscore: 3,
    zrevrange: 3,
    zrangebylex: 3,
    zrevrangebylex: 3,
    scan: 1,
    sscan: 2,
    hscan: 2,
    zscan: 2,
    lpos: 2,
    linsert: 1,
  }),
);
const KEYWORDS = new Set(
  "NX XX GT LT CH INCR EX PX EXAT PXAT KEEPTTL GET PERSIST WITHSCORES BYSCORE BYLEX REV LIMIT MATCH COUNT TYPE RANK MAXLEN BEFORE AFTER".split(
    " ",
  ),
);

function upperCaseOptions(name: string, args: string[]): string[] {
  const from = OPTIONS_FROM.get(name);
  if (from === undefined) return args;
  return args.map((arg, i) => {
    const upper = arg.toUpperCase();
    // A MATCH pattern is a value, whatever it spells.
    const isPattern = args[i - 1]?.toUpperCase() === "MATCH";
    return i >= from && !isPattern && KEYWORDS.has(upper) ? upper : arg;
  });
}
const BUILTIN_COMMANDS = new Set(Redis.prototype.getBuiltinCommands());

function unknownCommand(name: string, args: string[], detail = ""): Error {
  const start = args
    .slice(0, 3)
    .map((arg) => `'${arg}' `)
    .join("");
  return new Error(`ERR unknown command '${name}', with args beginning with: ${start}${detail}`);
}

type Method = (...args: unknown[]) => unknown;

class InProcessEngine implements RedisEngine {
  readonly kind = "in-process" as const;
  readonly redisUrl = undefined;
  readonly luaShebang = false;
  private readonly scripts = new Map<string, string>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly mock: Redis) {}

  /** One command (or transaction) at a time, which is what makes MULTI/EXEC and the type checks atomic. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private method(name: string): Method | undefined {
    const target = this.mock as unknown as Record<string, unknown>;
    const candidate = target[`${name}Buffer`] ?? target[name];
    return typeof candidate === "function" ? (candidate as Method).bind(this.mock) : undefined;
  }

  private isKnown(name: string): boolean {
    const lower = name.toLowerCase();
    if (["script", "eval_ro", "evalsha", "evalsha_ro"].includes(lower)) return true;
    return BUILTIN_COMMANDS.has(lower) && this.method(lower) !== undefined;
  }

  private async call(name: string, args: string[]): Promise<Reply> {
    const method = this.method(name);
    if (!method || !BUILTIN_COMMANDS.has(name)) {
      const why = method
        ? ""
        : "(the in-process fallback, ioredis-mock, does not implement it; install redis-server)";
      return unknownCommand(name, args, why);
    }
    try {
      return normalizeReply(await method(...args));
    } catch (error) {
      return new Error(errorMessage(error));
    }
  }

  private async execute([rawName = "", ...args]: Command): Promise<Reply> {
    const name = rawName.toLowerCase();
    if (name === "eval" || name === "eval_ro") {
      if (args[0] !== undefined) this.scripts.set(sha1(args[0]), args[0]);
      return this.call("eval", args);
    }
    if (name === "evalsha" || name === "evalsha_ro") {
      const script = this.scripts.get((args[0] ?? "").toLowerCase());
      if (script === undefined) return new Error("NOSCRIPT No matching script. Please use EVAL.");
      return this.call("eval", [script, ...args.slice(1)]);
    }
    if (name === "script") return this.script(args);
    const type = TYPE_OF_COMMAND.get(name);
    if (type && args[0] !== undefined) {
      const actual = await this.call("type", [args[0]]);
      if (Buffer.isBuffer(actual) && actual.toString() !== "none" && actual.toString() !== type) {
        return new Error(WRONGTYPE);
      }
    }
    if (name === "strlen" && args.length === 1) {
      // ioredis-mock stores JS strings and counts UTF-16 units; Redis counts bytes.
      const value = await this.call("get", args);
      return Buffer.isBuffer(value) ? value.length : value === null ? 0 : value;
    }
    return this.call(name, upperCaseOptions(name, args));
  }

  private script([sub = "", ...args]: string[]): Reply {
    switch (sub.toLowerCase()) {
      case "load": {
        if (args.length !== 1 || args[0] === undefined) {
          return new Error("ERR wrong number of arguments for 'script|load' command");
        }
        const sha = sha1(args[0]);
        this.scripts.set(sha, args[0]);
        return Buffer.from(sha);
      }
      case "exists":
        return args.map((sha) => (this.scripts.has(sha.toLowerCase()) ? 1 : 0));
      case "flush":
        this.scripts.clear();
        return Buffer.from("OK");
      default:
        return new Error(`ERR unknown subcommand '${sub}'. Try SCRIPT HELP.`);
    }
  }

  run(command: Command): Promise<Reply> {
    return this.exclusive(() => this.execute(command));
  }

  transaction(commands: Command[]): Promise<Reply[]> {
    return this.exclusive(async () => {
      // Redis refuses the whole transaction when a command cannot even be queued.
      if (commands.some(([name = ""]) => !this.isKnown(name))) throw new CommandError(EXECABORT);
      const results: Reply[] = [];
      for (const command of commands) results.push(await this.execute(command));
      return results;
    });
  }

  subscribe(channel: string, onMessage: (message: Buffer) => void): Promise<() => Promise<void>> {
    return subscribeOn(this.mock, channel, onMessage);
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      await this.call("flushall", []);
      this.mock.disconnect();
    });
  }
}

export async function startInProcess(): Promise<RedisEngine> {
  // Loaded only when needed: it pulls in a whole Lua VM (fengari).
  const { default: RedisMock } = await import("ioredis-mock");
  // ioredis-mock shares data between instances with the same host:port, so each endpoint gets its own.
  return new InProcessEngine(new RedisMock({ host: `upstash-local-${randomUUID()}` }));
}
