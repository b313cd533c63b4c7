/**
 * The environment, validated once per concern with zod. A missing or malformed variable fails with a
 * message that names it and says how to fix it. Every variable is documented in `.env.example`.
 *
 * Concerns are separate so that one missing optional feature (say, the webhook secret) never takes
 * the rest of the site down: each getter validates only what its feature needs.
 */
import { z } from "zod";

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

type Source = Record<string, string | undefined>;

function blankToUndefined(source: Source): Source {
  const out: Source = {};
  for (const [key, value] of Object.entries(source)) out[key] = value?.trim() ? value : undefined;
  return out;
}

function parseOrThrow<T extends z.ZodType>(schema: T, source: Source, concern: string): z.output<T> {
  const result = schema.safeParse(blankToUndefined(source));
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    return `  - ${name}: ${issue.message}`;
  });
  throw new ConfigError(
    `Invalid ${concern} configuration:\n${lines.join("\n")}\nSet the variables in .env.local (see .env.example) or in your host's project settings.`,
  );
}

function memo<T>(read: (source: Source) => T): ((source?: Source) => T) & { reset(): void } {
  let cached: { value: T } | undefined;
  const get = (source?: Source): T => {
    if (source) return read(source);
    cached ??= { value: read(process.env) };
    return cached.value;
  };
  return Object.assign(get, {
    reset() {
      cached = undefined;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Redis (Upstash REST)

const restUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://your-db.upstash.io" })
  .transform((url) => url.replace(/\/+$/, ""));

const redisSchema = z
  .object({
    UPSTASH_REDIS_REST_URL: restUrl.optional(),
    UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
    KV_REST_API_URL: restUrl.optional(),
    KV_REST_API_TOKEN: z.string().optional(),
  })
  .transform((v, ctx) => {
    const url = v.UPSTASH_REDIS_REST_URL ?? v.KV_REST_API_URL;
    const token = v.UPSTASH_REDIS_REST_TOKEN ?? v.KV_REST_API_TOKEN;
    if (!url || !token) {
      const missing = !url
        ? "UPSTASH_REDIS_REST_URL (or KV_REST_API_URL)"
        : "UPSTASH_REDIS_REST_TOKEN (or KV_REST_API_TOKEN)";
      ctx.addIssue({
        code: "custom",
        path: [missing],
        message:
          "is not set. Locally, run the app with `npm run dev` (it starts a local Redis endpoint for you) or `npm run redis:local`; on Vercel, connect an Upstash Redis database to the project.",
      });
      return z.NEVER;
    }
    return { url, token };
  });

export type RedisEnv = { url: string; token: string };

/** Whether Upstash credentials are present in `source` (used to decide whether to start the local endpoint). */
export function hasRedisCredentials(source: Source = process.env): boolean {
  const s = blankToUndefined(source);
  return Boolean(
    (s.UPSTASH_REDIS_REST_URL ?? s.KV_REST_API_URL) && (s.UPSTASH_REDIS_REST_TOKEN ?? s.KV_REST_API_TOKEN),
  );
}

export const redisEnv = memo((source): RedisEnv => parseOrThrow(redisSchema, source, "Redis"));

// ---------------------------------------------------------------------------------------------
// Rate limits: "<requests>/<window>", e.g. "60/1m", "5/15m", "1000/10s".

export type RateLimitSetting = { requests: number; window: `${number} ${"ms" | "s" | "m" | "h" | "d"}` };

const rateLimit = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx): RateLimitSetting => {
      const match = /^\s*(\d{1,7})\s*\/\s*(\d{1,7})\s*(ms|s|m|h|d)\s*$/.exec(value);
      if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
        ctx.addIssue({
          code: "custom",
          message: `must look like "<requests>/<window>", for example "${fallback}" (units: ms, s, m, h, d)`,
        });
        return z.NEVER;
      }
      return {
        requests: Number(match[1]),
        window: `${Number(match[2])} ${match[3] as "ms" | "s" | "m" | "h" | "d"}`,
      };
    });

const rateLimitSchema = z.object({
  RATE_LIMIT_REVALIDATE: rateLimit("120/1m"),
  RATE_LIMIT_AUTH_FAILURES: rateLimit("10/5m"),
  RATE_LIMIT_COMMENTS: rateLimit("5/1m"),
  RATE_LIMIT_SIGN_IN: rateLimit("5/15m"),
  RATE_LIMIT_SIGN_IN_SITE: rateLimit("50/15m"),
  RATE_LIMIT_COMMENTS_PER_POST: rateLimit("30/1m"),
  RATE_LIMIT_COMMENTS_SITE: rateLimit("120/1m"),
  CLIENT_IP_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, "must be a header name such as x-real-ip")
    .transform((h) => h.toLowerCase())
    .refine((h) => h !== "x-forwarded-for", {
      message:
        "cannot be x-forwarded-for: clients can prepend to that list. Set TRUSTED_PROXY_COUNT to the number of proxies in front of the app instead",
    })
    .optional(),
  TRUSTED_PROXY_COUNT: z.coerce
    .number({ error: "must be the number of proxies in front of the app, e.g. 1" })
    .int("must be a whole number, e.g. 1")
    .min(1, "must be at least 1 (leave it unset when no proxy is in front of the app)")
    .max(10, "must be at most 10")
    .optional(),
  VERCEL: z.string().optional(),
});

export type RateLimitEnv = {
  revalidate: RateLimitSetting;
  authFailures: RateLimitSetting;
  comments: RateLimitSetting;
  signIn: RateLimitSetting;
  /** Sign-in attempts site-wide, whatever their address: the backstop no header can dodge. */
  signInSite: RateLimitSetting;
  commentsPerPost: RateLimitSetting;
  commentsSite: RateLimitSetting;
  /** Where a trustworthy client address comes from: see lib/client-ip.ts. */
  clientIpTrust: ClientIpTrust;
};

export type ClientIpTrust =
  | { mode: "vercel" }
  | { mode: "header"; header: string }
  | { mode: "proxies"; count: number }
  | { mode: "none" };

function clientIpTrust(v: z.output<typeof rateLimitSchema>): ClientIpTrust {
  if (v.CLIENT_IP_HEADER && v.TRUSTED_PROXY_COUNT) {
    throw new ConfigError(
      "Invalid rate limit configuration:\n  - CLIENT_IP_HEADER and TRUSTED_PROXY_COUNT are both set: name the one header your proxy overwrites, or count the proxies that append to X-Forwarded-For, not both.",
    );
  }
  if (v.CLIENT_IP_HEADER) return { mode: "header", header: v.CLIENT_IP_HEADER };
  if (v.TRUSTED_PROXY_COUNT) return { mode: "proxies", count: v.TRUSTED_PROXY_COUNT };
  if (v.VERCEL === "1") return { mode: "vercel" };
  return { mode: "none" };
}

export const rateLimitEnv = memo((source): RateLimitEnv => {
  const v = parseOrThrow(rateLimitSchema, source, "rate limit");
  return {
    revalidate: v.RATE_LIMIT_REVALIDATE,
    authFailures: v.RATE_LIMIT_AUTH_FAILURES,
    comments: v.RATE_LIMIT_COMMENTS,
    signIn: v.RATE_LIMIT_SIGN_IN,
    signInSite: v.RATE_LIMIT_SIGN_IN_SITE,
    commentsPerPost: v.RATE_LIMIT_COMMENTS_PER_POST,
    commentsSite: v.RATE_LIMIT_COMMENTS_SITE,
    clientIpTrust: clientIpTrust(v),
  };
});

// ---------------------------------------------------------------------------------------------
// The revalidation receiver

/** Secrets shorter than this are refused: an HS256 key should be as long as the hash (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;
const secret = (name: string) =>
  z
    .string()
    .refine((s) => new TextEncoder().encode(s).byteLength >= MIN_SECRET_BYTES, {
      message: `must be at least ${MIN_SECRET_BYTES} bytes; generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))" and set ${name}`,
    })
    .optional();

const revalidationSchema = z.object({
  REVALIDATION_SECRET: secret("REVALIDATION_SECRET"),
  REVALIDATION_SECRET_PREVIOUS: secret("REVALIDATION_SECRET_PREVIOUS"),
  REVALIDATION_SECRET_PREVIOUS_EXPIRES: z.iso
    .datetime({
      offset: true,
      error:
        "must be a date and time such as 2026-07-01T00:00:00Z (after it, the previous secret is refused)",
    })
    .optional(),
  REVALIDATION_AUDIENCE: z
    .string()
    .regex(/^[A-Za-z0-9._:/-]{1,100}$/, "must be 1 to 100 of A-Z a-z 0-9 . _ : / -")
    .default("revalidate"),
  REVALIDATION_ID_TTL_SECONDS: z.coerce
    .number({ error: "must be a whole number of seconds, e.g. 86400" })
    .int("must be a whole number of seconds, e.g. 86400")
    .min(60, "must be at least 60 seconds")
    .max(30 * 86400, "must be at most 30 days (2592000)")
    .default(86400),
});

export type RevalidationEnv = {
  /** The current secret first, then the previous one during a rotation. Empty when not configured. */
  secrets: string[];
  /** After this, a token signed with the previous secret is refused (REVALIDATION_SECRET_PREVIOUS_EXPIRES). */
  previousSecretExpiresAt?: Date;
  audience: string;
  idTtlSeconds: number;
};

/**
 * `npm run dev` generates missing development secrets with this prefix (scripts/dev-secrets.ts) into
 * .env.development.local, which only `next dev` loads. A production build or start that finds one
 * anyway (copied into another .env file or a host's settings) refuses to run.
 */
export const DEV_ONLY_PREFIX = "dev-only-";

function refuseDevOnly(source: Source, names: string[], concern: string): void {
  if (source.NODE_ENV !== "production") return;
  const found = names.filter((name) => source[name]?.startsWith(DEV_ONLY_PREFIX));
  if (found.length === 0) return;
  throw new ConfigError(
    `Invalid ${concern} configuration:\n${found.map((name) => `  - ${name}: holds a development-only value that npm run dev generated (it starts with "${DEV_ONLY_PREFIX}"); set a real value for production, e.g. node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`).join("\n")}`,
  );
}

export const revalidationEnv = memo((source): RevalidationEnv => {
  refuseDevOnly(source, ["REVALIDATION_SECRET", "REVALIDATION_SECRET_PREVIOUS"], "revalidation");
  const v = parseOrThrow(revalidationSchema, source, "revalidation");
  if (!v.REVALIDATION_SECRET && v.REVALIDATION_SECRET_PREVIOUS) {
    throw new ConfigError(
      "Invalid revalidation configuration:\n  - REVALIDATION_SECRET: is not set while REVALIDATION_SECRET_PREVIOUS is. During a rotation set the new secret in REVALIDATION_SECRET and keep the old one in REVALIDATION_SECRET_PREVIOUS.",
    );
  }
  const secrets = [v.REVALIDATION_SECRET, v.REVALIDATION_SECRET_PREVIOUS].filter((s): s is string =>
    Boolean(s),
  );
  return {
    secrets,
    ...(v.REVALIDATION_SECRET_PREVIOUS_EXPIRES
      ? { previousSecretExpiresAt: new Date(v.REVALIDATION_SECRET_PREVIOUS_EXPIRES) }
      : {}),
    audience: v.REVALIDATION_AUDIENCE,
    idTtlSeconds: v.REVALIDATION_ID_TTL_SECONDS,
  };
});

// ---------------------------------------------------------------------------------------------
// Admin editing

const adminSchema = z.object({
  ADMIN_PASSWORD: z
    .string()
    .min(12, "must be at least 12 characters (or leave it unset to disable editing)")
    .optional(),
  ADMIN_SESSION_SECRET: secret("ADMIN_SESSION_SECRET"),
});

export type AdminEnv = { password: string | undefined; sessionSecret: string | undefined };

export const adminEnv = memo((source): AdminEnv => {
  refuseDevOnly(source, ["ADMIN_PASSWORD", "ADMIN_SESSION_SECRET"], "admin");
  const v = parseOrThrow(adminSchema, source, "admin");
  return { password: v.ADMIN_PASSWORD, sessionSecret: v.ADMIN_SESSION_SECRET };
});

// ---------------------------------------------------------------------------------------------
// The site's public address (sitemap, feed) and previews (Draft Mode)

const siteSchema = z.object({
  SITE_URL: restUrl.optional(),
  VERCEL_PROJECT_PRODUCTION_URL: z.string().optional(),
  PREVIEW_SECRET: secret("PREVIEW_SECRET"),
});

export type SiteEnv = {
  /** Absolute origin for links that leave the site (sitemap, feed, preview links), no trailing slash. */
  url: string;
  /** The key preview links are signed with, when set; otherwise derived from REVALIDATION_SECRET. */
  previewSecret: string | undefined;
};

export const siteEnv = memo((source): SiteEnv => {
  const v = parseOrThrow(siteSchema, source, "site");
  const vercel = v.VERCEL_PROJECT_PRODUCTION_URL?.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  return {
    url: v.SITE_URL ?? (vercel ? `https://${vercel}` : "http://localhost:3000"),
    previewSecret: v.PREVIEW_SECRET,
  };
});

// ---------------------------------------------------------------------------------------------
// Shared tag state (lib/shared-tags): invalidations shared by every instance through Redis

const sharedTagsSchema = z.object({
  SHARED_TAG_STATE: z
    .enum(["on", "off"], {
      error: 'must be "on" (share invalidations through Redis, the default) or "off" (each instance alone)',
    })
    .default("on"),
  SHARED_TAG_SYNC_MS: z.coerce
    .number({ error: "must be a whole number of milliseconds, e.g. 1000" })
    .int("must be a whole number of milliseconds, e.g. 1000")
    .min(100, "must be at least 100 ms")
    .max(10_000, "must be at most 10000 ms")
    // The safety net behind pub/sub announcements: one small request a second when idle.
    .default(1000),
});

export type SharedTagsEnv = {
  /** On unless turned off, and never on Vercel (the platform shares tag state itself). */
  enabled: boolean;
  /** Why it is on or off, for the start-up log. */
  reason: string;
  syncMs: number;
};

export const sharedTagsEnv = memo((source): SharedTagsEnv => {
  const v = parseOrThrow(sharedTagsSchema, source, "shared tag state");
  if (blankToUndefined(source).VERCEL) {
    return {
      enabled: false,
      reason: "on Vercel, which shares tag state across instances itself",
      syncMs: v.SHARED_TAG_SYNC_MS,
    };
  }
  if (v.SHARED_TAG_STATE === "off") {
    return { enabled: false, reason: "SHARED_TAG_STATE=off", syncMs: v.SHARED_TAG_SYNC_MS };
  }
  return { enabled: true, reason: "self-hosted", syncMs: v.SHARED_TAG_SYNC_MS };
});

/**
 * Validates every concern at once. `next.config.ts` calls it, so `next dev`, `next build` and
 * `next start` refuse to start with a broken configuration instead of failing on the first request.
 */
export function assertEnvironment(source: Source = process.env): void {
  const problems: string[] = [];
  for (const check of [redisEnv, rateLimitEnv, revalidationEnv, adminEnv, siteEnv, sharedTagsEnv]) {
    try {
      check(source);
    } catch (error) {
      if (error instanceof ConfigError) problems.push(error.message);
      else throw error;
    }
  }
  if (problems.length > 0) throw new ConfigError(problems.join("\n\n"));
}
