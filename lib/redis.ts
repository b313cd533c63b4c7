/**
 * The one Upstash Redis client. Locally `npm run dev` points it at the project's Upstash-compatible
 * endpoint (scripts/upstash-local); on Vercel it uses the Upstash database connected to the project.
 */
import { Redis } from "@upstash/redis";
import type { z } from "zod";
import { type RedisEnv, redisEnv } from "./env";

let client: Redis | undefined;

export function redis(): Redis {
  if (!client) {
    const { url, token } = redisEnv();
    // Values are stored as plain strings or JSON we parse ourselves with zod at the read site.
    client = new Redis({ url, token, automaticDeserialization: false, enableTelemetry: false });
  }
  return client;
}

/** How long one HTTP request of a fail-fast client may take before it is aborted. */
export const FAIL_FAST_TIMEOUT_MS = 1000;

/**
 * A client for request paths that must fail open quickly when Redis is unreachable (the
 * revalidation receiver). The default client retries network errors five times with exponential
 * backoff (about 4 s in all), which would turn an outage into slow webhooks and sender timeouts;
 * this one never retries and aborts each HTTP request after `timeoutMs`. Same database and keys.
 */
export function createFailFastRedis(env: RedisEnv, timeoutMs = FAIL_FAST_TIMEOUT_MS): Redis {
  return new Redis({
    url: env.url,
    token: env.token,
    automaticDeserialization: false,
    enableTelemetry: false,
    retry: false,
    // A function, so each request gets a fresh deadline (a shared signal would abort all of them once).
    signal: () => AbortSignal.timeout(timeoutMs),
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
  postIndex: () => "blog:posts",
  comments: (slug: string) => `blog:comments:${slug}`,
  seeded: () => "blog:seeded:v1",
  /** The admin session signing key, generated once when ADMIN_SESSION_SECRET is not set. */
  adminSessionKey: () => "blog:admin:session-key",
  /** An open admin session (its ID is the cookie's `jti`); signing out deletes it. */
  adminSession: (sessionId: string) => `blog:admin:session:${sessionId}`,
  /** A revalidation ID's claim (`processing` under a lease, then `done`), namespaced by sender. */
  revalidationId: (namespacedId: string) => `revalidate:id:${namespacedId}`,
  /** The capped list of recent revalidations, newest first. */
  revalidationLog: () => "revalidate:recent",
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
