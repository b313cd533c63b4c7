/**
 * Step 4 and the failed-authentication limit of step 2, on the `revalidate` and `auth-failures`
 * limiters of lib/rate-limit.ts.
 *
 * Failed authentications are counted per client address (lib/client-ip.ts; every client without a
 * trustworthy address shares one bucket). Past the limit, a failed attempt is answered 429 with
 * `Retry-After` instead of 401, which slows a guesser down. A request whose token verifies is never
 * refused because of that count: otherwise anyone sending garbage from (or claiming to be) a CMS's
 * address, or sharing the unknown bucket with it, could lock the CMS out. A verified request is
 * limited per sender (`iss`, which every token carries) only.
 */
import type { Ratelimit } from "@upstash/ratelimit";
import { Rejection } from "./errors";
import { type RedisBudget, RedisUnavailable } from "./redis-budget";

export type Limiters = { revalidate: Ratelimit; authFailures: Ratelimit };

type Verdict = { limit: number; remaining: number; reset: number };

export function rateLimitHeaders(verdict: Verdict, nowMs: number): Record<string, string> {
  const resetSeconds = Math.max(0, Math.ceil((verdict.reset - nowMs) / 1000));
  return {
    "RateLimit-Limit": String(verdict.limit),
    "RateLimit-Remaining": String(Math.max(0, verdict.remaining)),
    "RateLimit-Reset": String(resetSeconds),
  };
}

function rateLimited(message: string, verdict: Verdict, nowMs: number): Rejection {
  const headers = rateLimitHeaders(verdict, nowMs);
  const retryAfter = Math.max(1, Number(headers["RateLimit-Reset"]));
  return new Rejection("rate_limited", `${message} Retry after ${retryAfter} s.`, {
    headers: { ...headers, "Retry-After": String(retryAfter) },
  });
}

const TOO_MANY_FAILURES =
  "Too many failed authentication attempts from this address. Check the token (secret, `aud`, `iss`, expiry) before retrying.";

/**
 * Counts one failed authentication for the client (`clientKey`, from lib/client-ip.ts) and returns what to answer: the 401 itself, or a 429
 * when the address was already over its limit. Redis trouble (or limiters that cannot be built)
 * is logged by the budget and the 401 stands.
 */
export async function countAuthFailure(options: {
  limiters: () => Limiters;
  clientKey: string;
  unauthorized: Rejection;
  budget: RedisBudget;
  after: (task: () => Promise<unknown>) => void;
  nowMs: () => number;
}): Promise<Rejection> {
  try {
    const result = await options.budget.roundTrip("auth-failure limit", () =>
      options.limiters().authFailures.limit(options.clientKey),
    );
    options.after(() => result.pending);
    if (result.reason === "timeout") throw new RedisUnavailable("auth-failure limit: limiter timed out");
    if (result.success) return options.unauthorized;
    // The reason travels along: a misconfigured sender sharing the bucket learns what to fix, and a
    // guesser learns nothing a 401 would not have told it.
    const limited = rateLimited(
      `${TOO_MANY_FAILURES} This attempt failed too: ${options.unauthorized.message}`,
      result,
      options.nowMs(),
    );
    return new Rejection("rate_limited", limited.message, {
      headers: { ...limited.headers, ...options.unauthorized.headers },
    });
  } catch (error) {
    if (error instanceof RedisUnavailable) return options.unauthorized;
    throw error;
  }
}

export type LimitOutcome = {
  /** `RateLimit-*` headers for the response, when the per-sender limit was checked. */
  headers: Record<string, string>;
  /** Why a limit was not applied, for the log. */
  notes: string[];
};

/**
 * For a verified token, when `consume` is set: one unit of the sender's limit (`iss`), in one
 * round trip. Throws a 429 Rejection when it is exhausted; fails open when Redis does not answer.
 */
export async function checkLimits(options: {
  limiters: () => Limiters;
  iss: string;
  consume: boolean;
  budget: RedisBudget;
  after: (task: () => Promise<unknown>) => void;
  nowMs: () => number;
}): Promise<LimitOutcome> {
  const { iss } = options;
  const notes: string[] = [];
  if (!options.consume) return { headers: {}, notes };

  try {
    const limit = await options.budget.roundTrip("rate limit", () =>
      options.limiters().revalidate.limit(`iss:${iss}`),
    );
    options.after(() => limit.pending);
    const now = options.nowMs();
    if (limit.reason === "timeout") throw new RedisUnavailable("rate limit: limiter timed out");
    if (!limit.success) {
      throw rateLimited(
        `Too many revalidation requests from sender "${iss}". Batch tags into fewer requests (up to 64 per request).`,
        limit,
        now,
      );
    }
    return { headers: rateLimitHeaders(limit, now), notes };
  } catch (error) {
    if (!(error instanceof RedisUnavailable)) throw error;
    notes.push("rate limit unavailable: failed open");
    return { headers: {}, notes };
  }
}
