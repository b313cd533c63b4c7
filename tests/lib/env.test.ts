import { describe, expect, it } from "vitest";
import {
  adminEnv,
  assertEnvironment,
  ConfigError,
  hasRedisCredentials,
  rateLimitEnv,
  redisEnv,
  revalidationEnv,
  sharedTagsEnv,
} from "@/lib/env";

const redisVars = { UPSTASH_REDIS_REST_URL: "https://db.upstash.io/", UPSTASH_REDIS_REST_TOKEN: "t0ken" };
const strong = "s".repeat(32);

describe("redisEnv", () => {
  it("accepts Upstash's names and trims a trailing slash", () => {
    expect(redisEnv(redisVars)).toEqual({ url: "https://db.upstash.io", token: "t0ken" });
  });

  it("accepts Vercel's KV names", () => {
    expect(redisEnv({ KV_REST_API_URL: "https://kv.example.com", KV_REST_API_TOKEN: "abc" })).toEqual({
      url: "https://kv.example.com",
      token: "abc",
    });
  });

  it("prefers UPSTASH_* over KV_* when both are set", () => {
    expect(
      redisEnv({ ...redisVars, KV_REST_API_URL: "https://other.example.com", KV_REST_API_TOKEN: "x" }).url,
    ).toBe("https://db.upstash.io");
  });

  it("names the missing variable and says how to fix it", () => {
    expect(() => redisEnv({})).toThrow(ConfigError);
    expect(() => redisEnv({})).toThrow(/UPSTASH_REDIS_REST_URL \(or KV_REST_API_URL\).*npm run dev/s);
    expect(() => redisEnv({ UPSTASH_REDIS_REST_URL: "https://db.upstash.io" })).toThrow(
      /UPSTASH_REDIS_REST_TOKEN/,
    );
  });

  it("rejects a malformed URL by name", () => {
    expect(() => redisEnv({ ...redisVars, UPSTASH_REDIS_REST_URL: "db.upstash.io" })).toThrow(
      /UPSTASH_REDIS_REST_URL: must be an http\(s\) URL/,
    );
    expect(() => redisEnv({ ...redisVars, UPSTASH_REDIS_REST_URL: "redis://db:6379" })).toThrow(
      /http\(s\) URL/,
    );
  });

  it("treats blank values as unset", () => {
    expect(hasRedisCredentials({ UPSTASH_REDIS_REST_URL: " ", UPSTASH_REDIS_REST_TOKEN: "x" })).toBe(false);
    expect(hasRedisCredentials(redisVars)).toBe(true);
  });
});

describe("revalidationEnv", () => {
  it("is unconfigured, not broken, without a secret", () => {
    expect(revalidationEnv({})).toEqual({ secrets: [], audience: "revalidate", idTtlSeconds: 86400 });
  });

  it("orders the current secret before the previous one", () => {
    const prev = "p".repeat(40);
    expect(
      revalidationEnv({ REVALIDATION_SECRET: strong, REVALIDATION_SECRET_PREVIOUS: prev }).secrets,
    ).toEqual([strong, prev]);
  });

  it("refuses a secret shorter than 32 bytes, naming it and how to generate one", () => {
    expect(() => revalidationEnv({ REVALIDATION_SECRET: "short" })).toThrow(
      /REVALIDATION_SECRET: must be at least 32 bytes; generate one/,
    );
  });

  it("counts bytes, not characters", () => {
    expect(() => revalidationEnv({ REVALIDATION_SECRET: "é".repeat(16) })).not.toThrow();
    expect(() => revalidationEnv({ REVALIDATION_SECRET: "é".repeat(15) })).toThrow(/32 bytes/);
  });

  it("refuses a previous secret without a current one", () => {
    expect(() => revalidationEnv({ REVALIDATION_SECRET_PREVIOUS: strong })).toThrow(
      /REVALIDATION_SECRET: is not set/,
    );
  });

  it("validates the TTL", () => {
    expect(revalidationEnv({ REVALIDATION_ID_TTL_SECONDS: "3600" }).idTtlSeconds).toBe(3600);
    expect(() => revalidationEnv({ REVALIDATION_ID_TTL_SECONDS: "soon" })).toThrow(
      /REVALIDATION_ID_TTL_SECONDS/,
    );
    expect(() => revalidationEnv({ REVALIDATION_ID_TTL_SECONDS: "5" })).toThrow(/at least 60/);
  });
});

describe("rateLimitEnv", () => {
  it("has defaults", () => {
    expect(rateLimitEnv({}).comments).toEqual({ requests: 5, window: "1 m" });
  });

  it("parses <requests>/<window>", () => {
    expect(rateLimitEnv({ RATE_LIMIT_SIGN_IN: "3/30s" }).signIn).toEqual({ requests: 3, window: "30 s" });
  });

  it.each(["5", "5/", "0/1m", "5/1y", "-1/1m", "five/1m"])("rejects %j by name", (value) => {
    expect(() => rateLimitEnv({ RATE_LIMIT_COMMENTS: value })).toThrow(/RATE_LIMIT_COMMENTS: must look like/);
  });

  it("lower-cases a client IP header and rejects garbage", () => {
    expect(rateLimitEnv({ CLIENT_IP_HEADER: "CF-Connecting-IP" }).clientIpTrust).toEqual({
      mode: "header",
      header: "cf-connecting-ip",
    });
    expect(() => rateLimitEnv({ CLIENT_IP_HEADER: "bad header" })).toThrow(/CLIENT_IP_HEADER/);
  });

  it("derives the client-address trust model: header, proxy count, Vercel, or nothing", () => {
    expect(rateLimitEnv({}).clientIpTrust).toEqual({ mode: "none" });
    expect(rateLimitEnv({ VERCEL: "1" }).clientIpTrust).toEqual({ mode: "vercel" });
    expect(rateLimitEnv({ TRUSTED_PROXY_COUNT: "2" }).clientIpTrust).toEqual({ mode: "proxies", count: 2 });
    expect(rateLimitEnv({ VERCEL: "1", CLIENT_IP_HEADER: "cf-connecting-ip" }).clientIpTrust).toEqual({
      mode: "header",
      header: "cf-connecting-ip",
    });
  });

  it.each([
    [
      { CLIENT_IP_HEADER: "X-Forwarded-For" },
      /CLIENT_IP_HEADER: cannot be x-forwarded-for.*TRUSTED_PROXY_COUNT/,
    ],
    [{ TRUSTED_PROXY_COUNT: "0" }, /TRUSTED_PROXY_COUNT: must be at least 1/],
    [{ TRUSTED_PROXY_COUNT: "one" }, /TRUSTED_PROXY_COUNT/],
    [{ TRUSTED_PROXY_COUNT: "1", CLIENT_IP_HEADER: "x-real-ip" }, /both set/],
  ])("refuses a trust configuration that could be forged or is ambiguous: %j", (source, message) => {
    expect(() => rateLimitEnv(source)).toThrow(message);
  });
});

describe("adminEnv", () => {
  it("disables editing when no password is set", () => {
    expect(adminEnv({})).toEqual({ password: undefined, sessionSecret: undefined });
  });

  it("refuses a short password by name", () => {
    expect(() => adminEnv({ ADMIN_PASSWORD: "hunter2" })).toThrow(/ADMIN_PASSWORD: must be at least 12/);
  });
});

describe("sharedTagsEnv", () => {
  it("is on by default when self-hosted, checking every second", () => {
    expect(sharedTagsEnv({})).toEqual({ enabled: true, reason: "self-hosted", syncMs: 1000 });
  });

  it("is off on Vercel, whatever SHARED_TAG_STATE says, and when turned off", () => {
    expect(sharedTagsEnv({ VERCEL: "1", SHARED_TAG_STATE: "on" }).enabled).toBe(false);
    expect(sharedTagsEnv({ SHARED_TAG_STATE: "off" })).toMatchObject({
      enabled: false,
      reason: "SHARED_TAG_STATE=off",
    });
  });

  it("names the variable and the accepted values when one is wrong", () => {
    expect(() => sharedTagsEnv({ SHARED_TAG_STATE: "yes" })).toThrow(/SHARED_TAG_STATE: must be "on".*"off"/);
    expect(() => sharedTagsEnv({ SHARED_TAG_SYNC_MS: "5" })).toThrow(
      /SHARED_TAG_SYNC_MS: must be at least 100 ms/,
    );
  });
});

describe("assertEnvironment", () => {
  it("reports every broken concern at once", () => {
    let message = "";
    try {
      assertEnvironment({ REVALIDATION_SECRET: "short", RATE_LIMIT_COMMENTS: "x" });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/UPSTASH_REDIS_REST_URL/);
    expect(message).toMatch(/REVALIDATION_SECRET/);
    expect(message).toMatch(/RATE_LIMIT_COMMENTS/);
  });

  it("passes a complete configuration", () => {
    expect(() => assertEnvironment({ ...redisVars, REVALIDATION_SECRET: strong })).not.toThrow();
  });
});
