/**
 * Step 4 (the sender's limit) and the failed-authentication limit of step 2.
 *
 * Failed authentications are counted per client address (lib/client-ip.ts; every client without a
 * trustworthy address shares one bucket). Past the limit, a failed attempt is answered 429 with
 * `Retry-After` instead of 401, which slows a guesser down. A request whose token verifies is never
 * refused because of that count: otherwise anyone sending garbage from (or claiming to be) a CMS's
 * address, or sharing the unknown bucket with it, could lock the CMS out. A verified request is
 * limited per sender (`iss`, which every token carries) only.
 */
import type { Ratelimit } from "@upstash/ratelimit";
import { keys } from "../redis";
import { Rejection } from "./errors";
import { type RedisBudget, RedisUnavailable } from "./redis-budget";

export type Limiters = { revalidate: SenderLimit; authFailures: Ratelimit };

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

/**
 * A sender's limit (`RATE_LIMIT_REVALIDATE`): a sliding window over two fixed windows, kept by a
 * Lua function that the receiver's one round trip runs before the claim (delivery.ts), so a
 * limited request writes nothing else. Not @upstash/ratelimit: its `limit()` is a script call of
 * its own, and Redis cannot run a script from inside another, so the limit, the claim and the
 * publish could never be one atomic round trip with it (receiver-contract.md, "One round trip").
 */
export type SenderLimit = { requests: number; windowMs: number };

/**
 * Lua: takes one unit of the limit if the window has one left. The previous window counts in
 * proportion to how much of it the sliding window still covers. Returns allowed (1 or 0) and the
 * units left after this one.
 */
export const SENDER_LIMIT_LUA = `
local function consume_limit(current_key, previous_key, limit, window, now)
  local used = tonumber(redis.call('GET', current_key) or '0')
  local before = tonumber(redis.call('GET', previous_key) or '0')
  local weighted = math.floor(before * (window - now % window) / window) + used
  if weighted >= limit then return 0, 0 end
  redis.call('INCR', current_key)
  redis.call('PEXPIRE', current_key, window * 2 + 1000)
  return 1, limit - weighted - 1
end
`;

/** The two window counters `consume_limit` reads: the current fixed window, then the previous one. */
export function senderLimitKeys(iss: string, limit: SenderLimit, nowMs: number): [string, string] {
  const window = Math.floor(nowMs / limit.windowMs);
  return [keys.senderLimit(iss, window), keys.senderLimit(iss, window - 1)];
}

/**
 * The `RateLimit-*` headers for a verdict of `consume_limit`, or the 429 to answer when it refused.
 * The window resets when the current fixed window ends.
 */
export function senderLimitVerdict(
  iss: string,
  limit: SenderLimit,
  verdict: { allowed: boolean; remaining: number },
  nowMs: number,
): Record<string, string> {
  const counted = {
    limit: limit.requests,
    remaining: verdict.remaining,
    reset: (Math.floor(nowMs / limit.windowMs) + 1) * limit.windowMs,
  };
  if (!verdict.allowed) {
    throw rateLimited(
      `Too many revalidation requests from sender "${iss}". Batch tags into fewer requests (up to 64 per request).`,
      counted,
      nowMs,
    );
  }
  return rateLimitHeaders(counted, nowMs);
}
