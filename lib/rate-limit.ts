/**
 * Rate limiters, one per purpose, all on the one Upstash client. Limits come from the environment
 * (`RATE_LIMIT_*`, see .env.example) so tests and benchmarks can raise them without code changes.
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import { type RateLimitSetting, rateLimitEnv } from "./env";
import { redis } from "./redis";

export type LimiterName =
  | "revalidate"
  | "auth-failures"
  | "comments"
  | "comments-post"
  | "comments-site"
  | "sign-in"
  | "sign-in-site";

const settingFor: Record<LimiterName, (env: ReturnType<typeof rateLimitEnv>) => RateLimitSetting> = {
  revalidate: (env) => env.revalidate,
  "auth-failures": (env) => env.authFailures,
  comments: (env) => env.comments,
  "comments-post": (env) => env.commentsPerPost,
  "comments-site": (env) => env.commentsSite,
  "sign-in": (env) => env.signIn,
  "sign-in-site": (env) => env.signInSite,
};

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A setting's window in milliseconds ("1 m" → 60000). */
export function windowMs(setting: RateLimitSetting): number {
  const [amount, unit] = setting.window.split(" ") as [string, keyof typeof UNIT_MS];
  return Number(amount) * UNIT_MS[unit];
}

/** The identifier of a site-wide limiter: one bucket for everyone, whatever their address. */
export const SITE_WIDE = "site";

/**
 * `timeout` bounds how long a limit check may wait for Redis before it fails open (the request is
 * allowed, `reason: "timeout"`): a Redis outage must not take the site down with it.
 */
export function createLimiter(
  name: LimiterName,
  options: { redis?: Redis; setting?: RateLimitSetting; timeoutMs?: number } = {},
): Ratelimit {
  const setting = options.setting ?? settingFor[name](rateLimitEnv());
  return new Ratelimit({
    redis: options.redis ?? redis(),
    limiter: Ratelimit.slidingWindow(setting.requests, setting.window),
    prefix: `ratelimit:${name}`,
    analytics: false,
    timeout: options.timeoutMs ?? 1000,
  });
}

const shared = new Map<LimiterName, Ratelimit>();

/** The process-wide limiter for `name` (its in-memory cache of blocked identifiers is shared too). */
export function limiter(name: LimiterName): Ratelimit {
  let existing = shared.get(name);
  if (!existing) {
    existing = createLimiter(name);
    shared.set(name, existing);
  }
  return existing;
}
