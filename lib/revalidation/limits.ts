/**
 * Step 4 and the failed-authentication limit of step 2, on the `revalidate` and `auth-failures`
 * limiters of lib/rate-limit.ts.
 *
 * Failed authentications are counted per client IP. An address over that limit gets a 429 whether
 * or not its token is valid, so it learns nothing from guessing. To keep the critical path at two
 * round trips, a valid token's check of that limit travels with the per-sender limit in one
 * request (auto-pipelining batches calls made in the same tick); as both are answered before any
 * response, the outcome is the same as checking before verifying.
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
  "Too many failed authentication attempts from this address. Check the token (secret, `aud`, expiry) before retrying.";

/**
 * Counts one failed authentication for `ip` and returns what to answer: the 401 itself, or a 429
 * when the address was already over its limit. Redis trouble (or limiters that cannot be built)
 * is logged by the budget and the 401 stands.
 */
export async function countAuthFailure(options: {
  limiters: () => Limiters;
  ip: string;
  unauthorized: Rejection;
  budget: RedisBudget;
  after: (task: () => Promise<unknown>) => void;
  nowMs: () => number;
}): Promise<Rejection> {
  try {
    const result = await options.budget.roundTrip("auth-failure limit", () =>
      options.limiters().authFailures.limit(`ip:${options.ip}`),
    );
    options.after(() => result.pending);
    if (result.reason === "timeout") throw new RedisUnavailable("auth-failure limit: limiter timed out");
    return result.success ? options.unauthorized : rateLimited(TOO_MANY_FAILURES, result, options.nowMs());
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
 * For a verified token: the client IP's failed-authentication limit (read only) and, when
 * `consume` is set, one unit of the sender's limit (`iss`, else the client IP), in one round
 * trip. Throws a 429 Rejection when either is exhausted; fails open when Redis does not answer.
 */
export async function checkLimits(options: {
  limiters: () => Limiters;
  ip: string | undefined;
  iss: string | undefined;
  consume: boolean;
  budget: RedisBudget;
  after: (task: () => Promise<unknown>) => void;
  nowMs: () => number;
}): Promise<LimitOutcome> {
  const { ip, iss } = options;
  const notes: string[] = [];
  const sender = iss ? `iss:${iss}` : ip ? `ip:${ip}` : undefined;
  if (!ip) notes.push("client IP unknown: failed-authentication limit skipped");
  if (options.consume && !sender) notes.push("no iss and no client IP: rate limit skipped");
  const consume = options.consume ? sender : undefined;
  if (!ip && !consume) return { headers: {}, notes };

  try {
    const [gate, limit] = await options.budget.roundTrip("rate limit", () => {
      const limiters = options.limiters();
      // Both calls start in this tick, so they share one HTTP request.
      return Promise.all([
        ip ? limiters.authFailures.getRemaining(`ip:${ip}`) : undefined,
        consume ? limiters.revalidate.limit(consume) : undefined,
      ]);
    });
    if (limit) options.after(() => limit.pending);
    const now = options.nowMs();
    if (gate && gate.remaining <= 0) throw rateLimited(TOO_MANY_FAILURES, gate, now);
    if (limit?.reason === "timeout") throw new RedisUnavailable("rate limit: limiter timed out");
    if (limit && !limit.success) {
      throw rateLimited(
        `Too many revalidation requests from ${iss ? `sender "${iss}"` : "this address"}. Batch tags into fewer requests (up to 64 per request).`,
        limit,
        now,
      );
    }
    return { headers: limit ? rateLimitHeaders(limit, now) : {}, notes };
  } catch (error) {
    if (!(error instanceof RedisUnavailable)) throw error;
    notes.push("rate limit unavailable: failed open");
    return { headers: {}, notes };
  }
}
