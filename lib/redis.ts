/**
 * The one Upstash Redis client. Locally `npm run dev` points it at the project's Upstash-compatible
 * endpoint (scripts/upstash-local); on Vercel it uses the Upstash database connected to the project.
 */
import { type ClientRequest, Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { errors, Redis, type Requester } from "@upstash/redis";
import type { z } from "zod";
import { type RedisEnv, redisEnv } from "./env";

let client: Redis | undefined;

export function redis(): Redis {
  if (!client) {
    client = createClient(redisEnv());
  }
  return client;
}

/** How long one HTTP request of a fail-fast client may take before it is aborted. */
export const FAIL_FAST_TIMEOUT_MS = 1000;

/**
 * A client for request paths that must fail open quickly when Redis is unreachable (the
 * revalidation receiver, the shared tag state). The default client retries network errors five
 * times with exponential backoff (about 4 s in all), which would turn an outage into slow webhooks
 * and sender timeouts; this one never retries and gives each HTTP request `timeoutMs`. It also
 * skips `fetch` (see `nodeHttpTransport`). Same database and keys.
 */
export function createFailFastRedis(env: RedisEnv, timeoutMs = FAIL_FAST_TIMEOUT_MS): Redis {
  return new NodeHttpRedis(env, nodeHttpTransport(env, timeoutMs));
}

/** An Upstash client whose HTTP requests go through `transport` instead of the global `fetch`. */
class NodeHttpRedis extends Redis {
  constructor(env: RedisEnv, transport: Requester) {
    super({ url: env.url, token: env.token, automaticDeserialization: false, enableTelemetry: false });
    // Every command and pipeline sends through `client` (the Requester interface the package
    // exports for custom transports); its own constructor for one takes no options, and this
    // project's clients need automaticDeserialization off.
    this.client = transport;
  }
}

/**
 * Upstash's REST protocol over Node's own http(s) with a keep-alive agent, one deadline per request.
 * Not `fetch`: inside `next start` the global fetch is Next's instrumented one (a trace span per
 * call, made for caching fetches, which these are not) over undici and WHATWG streams, plus a new
 * AbortSignal per call; the receiver's CPU profile (BENCH_CPU_PROF=1, docs/benchmarks.md) put that
 * stack at the largest share of a webhook's CPU. Responses are asked for as plain UTF-8 JSON (no
 * `Upstash-Encoding: base64`), so nothing needs decoding. A streaming request (SUBSCRIBE) is
 * `readStream`'s.
 */
function nodeHttpTransport(env: RedisEnv, timeoutMs: number): Requester {
  const base = new URL(env.url);
  const secure = base.protocol === "https:";
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const prefix = base.pathname.replace(/\/$/, "");
  const authorization = `Bearer ${env.token}`;
  const options = (path: string[] | undefined, body: string, accept?: string) => ({
    // An IPv6 literal comes bracketed in a URL ("[::1]"), never in a host option.
    host: base.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: base.port,
    path: `${prefix}/${(path ?? []).join("/")}`,
    method: "POST",
    headers: {
      authorization,
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...(accept ? { accept } : {}),
    },
  });
  return {
    request<TResult>(req: Parameters<Requester["request"]>[0]) {
      const body = JSON.stringify(req.body);
      if (req.isStreaming) {
        // Its own connection, outside the pool: a stream holds it for as long as it lives.
        const outgoing = send({ ...options(req.path, body, "text/event-stream"), agent: false });
        return readStream(outgoing, body, req, timeoutMs) as Promise<{ result?: TResult }>;
      }
      return new Promise<{ result?: TResult; error?: string }>((resolve, reject) => {
        const outgoing = send({ ...options(req.path, body), agent }, (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("error", reject);
          response.on("end", () => {
            clearTimeout(timer);
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: { result?: TResult; error?: string };
            try {
              parsed = JSON.parse(text);
            } catch (error) {
              reject(new errors.UpstashJSONParseError(text, { cause: error }));
              return;
            }
            const status = response.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              reject(new errors.UpstashError(`${parsed.error}, command was: ${body}`));
            } else resolve(parsed);
          });
        });
        const timer = setTimeout(
          () => outgoing.destroy(new Error(`Redis did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        outgoing.on("error", (error) => {
          clearTimeout(timer);
          reject(error);
        });
        outgoing.end(body);
      });
    },
  };
}

/** Longest server-sent-event line kept while waiting for its end (Upstash's own client: 1 MB). */
const MAX_EVENT_LINE = 1024 * 1024;

/**
 * A server-sent-event stream (Upstash's SUBSCRIBE): each `data:` line goes to `req.onMessage`.
 * Pending for as long as the stream lives, and then rejected, whatever ended it: a failure, the
 * server closing it (`the stream ended`), or `req.signal` (an `AbortError`, which the subscriber
 * ignores). So an end is reported to the subscriber as an error, and its owner subscribes again;
 * `@upstash/redis`'s own `fetch` transport says nothing when an open stream ends, and prints the
 * failure with its stack trace to the console instead. The response must start within `timeoutMs`.
 */
function readStream(
  outgoing: ClientRequest,
  body: string,
  req: Parameters<Requester["request"]>[0],
  timeoutMs: number,
): Promise<{ result?: unknown }> {
  return new Promise((_, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener("abort", abort);
      outgoing.destroy();
      reject(error);
    };
    const abort = () => {
      const error = new Error("the subscription was stopped");
      error.name = "AbortError";
      fail(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`Redis did not open the stream within ${timeoutMs} ms`)),
      timeoutMs,
    );
    if (req.signal?.aborted) return abort();
    req.signal?.addEventListener("abort", abort, { once: true });
    outgoing.on("error", (error) => fail(error));
    outgoing.on("response", (response) => {
      clearTimeout(timer);
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        response.resume();
        fail(new errors.UpstashError(`the stream was refused with HTTP ${status}`));
        return;
      }
      response.setEncoding("utf8");
      let buffer = "";
      response.on("data", (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        if (buffer.length > MAX_EVENT_LINE) {
          fail(new Error(`a stream line was longer than ${MAX_EVENT_LINE} bytes`));
          return;
        }
        for (const line of lines) {
          if (line.startsWith("data: ")) req.onMessage?.(line.slice(6));
        }
      });
      response.on("error", (error) => fail(error));
      response.on("end", () => fail(new Error("the stream ended")));
      response.on("close", () => fail(new Error("the stream ended")));
    });
    outgoing.end(body);
  });
}

/**
 * A client for long-lived streams (the shared tag state's SUBSCRIBE), over the same `node:http`
 * transport: no deadline once the stream is open (`timeoutMs` only for it to open), and no retries;
 * its caller subscribes again when the stream fails or ends. Same database and keys.
 */
export function createStreamingRedis(env: RedisEnv, timeoutMs = FAIL_FAST_TIMEOUT_MS): Redis {
  return new NodeHttpRedis(env, nodeHttpTransport(env, timeoutMs));
}

/** Every client of this app: plain strings in and out (parsed with zod at the read site), no telemetry. */
function createClient(env: RedisEnv): Redis {
  return new Redis({
    url: env.url,
    token: env.token,
    automaticDeserialization: false,
    enableTelemetry: false,
  });
}

let failFastClient: Redis | undefined;

/** The process-wide fail-fast client, from the same environment as `redis()`. */
export function failFastRedis(): Redis {
  failFastClient ??= createFailFastRedis(redisEnv());
  return failFastClient;
}

/** Every key this app writes starts with one of these, so a shared database stays readable. */
export const keys = {
  post: (slug: string) => `blog:post:${slug}`,
  /** A post's unpublished draft (title and body), written by the admin form or a CMS; never cached. */
  postDraft: (slug: string) => `blog:draft:${slug}`,
  postIndex: () => "blog:posts",
  comments: (slug: string) => `blog:comments:${slug}`,
  seeded: () => "blog:seeded:v1",
  /** The admin session signing key, generated once when ADMIN_SESSION_SECRET is not set. */
  adminSessionKey: () => "blog:admin:session-key",
  /** An open admin session (its ID is the cookie's `jti`); signing out deletes it. */
  adminSession: (sessionId: string) => `blog:admin:session:${sessionId}`,
  /** A revalidation ID's claim (`processing` under a lease, then `done`), namespaced by sender. */
  revalidationId: (namespacedId: string) => `revalidate:id:${namespacedId}`,
  /** One fixed window of a webhook sender's limit (lib/revalidation/limits.ts); expires after two windows. */
  senderLimit: (iss: string, window: number) => `ratelimit:revalidate:iss:${iss}:${window}`,
  /** The capped list of recent revalidations, newest first (lib/revalidation/activity.ts). */
  revalidationLog: () => "revalidate:recent",
  /** Revalidations per outcome in one hour (hours since the epoch); expires after a day. */
  revalidationCounts: (hour: number) => `revalidate:counts:${hour}`,
  /** Shared tag state (lib/shared-tags/store.ts): never expires, never namespaced by build. */
  tagState: () => "cache:tags",
  tagVersion: () => "cache:tags:version",
  tagChanges: () => "cache:tags:changes",
  /** Pub/sub channel: every publish announces its version here, so instances sync at once. */
  tagChannel: () => "cache:tags:changed",
} as const;

/**
 * Parses a JSON value read from Redis with `schema`. A missing or malformed value (hand-edited,
 * written by an older version) reads as `null` instead of taking the page down.
 */
export function parseStored<T extends z.ZodType>(schema: T, raw: unknown): z.output<T> | null {
  if (typeof raw !== "string") return null;
  try {
    const result = schema.safeParse(JSON.parse(raw));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

/** HGETALL's reply as an object: this project's clients skip deserialization, so it is a flat array. */
export function hashObject(reply: unknown): Record<string, string> {
  if (Array.isArray(reply)) {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
    return out;
  }
  return reply && typeof reply === "object" ? (reply as Record<string, string>) : {};
}

/** A short, body-free description of a Redis client error for the log. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  const cause = error.cause instanceof Error ? ` (${error.cause.message.slice(0, 80)})` : "";
  // Upstash errors append the whole command ("command was: [...]"); keep the reason only.
  const message = error.message.split(", command was:")[0]?.slice(0, 160) ?? "";
  return `${error.name}: ${message}${cause}`;
}
