/** The Vitest harness itself: every worker sees the shared endpoint, and its Redis is reachable directly. */
import { Redis } from "@upstash/redis";
import { describe, expect, inject, it } from "vitest";
import { startLocalUpstash } from "@/scripts/upstash-local/server";
import { uniquePrefix } from "./helpers";

describe("the test harness", () => {
  it("puts the shared endpoint into process.env, where Redis.fromEnv() finds it", async () => {
    expect(process.env.UPSTASH_REDIS_REST_URL).toBe(inject("upstashUrl"));
    expect(process.env.UPSTASH_REDIS_REST_TOKEN).toBe(inject("upstashToken"));
    const redis = Redis.fromEnv({ enableTelemetry: false });
    const key = `${uniquePrefix()}env`;
    expect(await redis.set(key, "seen")).toBe("OK");
    expect(await redis.get(key)).toBe("seen");
  });

  it("provides the redis-server URL, so a second endpoint can share the same data", async () => {
    const redisUrl = inject("redisUrl");
    expect(redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    const second = await startLocalUpstash({ redisUrl, token: "second-token-0123456789", log: () => {} });
    try {
      expect(second.engine).toBe("redis-server");
      const key = `${uniquePrefix()}shared`;
      const first = Redis.fromEnv({ enableTelemetry: false });
      await first.set(key, "from the first endpoint");
      const other = new Redis({ url: second.url, token: second.token, enableTelemetry: false });
      expect(await other.get(key)).toBe("from the first endpoint");
    } finally {
      await second.close();
    }
    // Closing an endpoint in front of an external Redis leaves that Redis running.
    expect(await Redis.fromEnv({ enableTelemetry: false }).ping()).toBe("PONG");
  });
});
