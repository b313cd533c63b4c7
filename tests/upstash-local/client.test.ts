/**
 * The contract, as the app sees it: the real `@upstash/redis` client and `@upstash/ratelimit` against the
 * local endpoint, over a real redis-server and over the in-process fallback.
 */
import { createHash, randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ENGINES, post, uniquePrefix, useEndpoint } from "./helpers";

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

describe.each(ENGINES)("@upstash/redis against the %s engine", (engine) => {
  const endpoint = useEndpoint(engine);

  describe.each([false, true])("automaticDeserialization: %s", (automaticDeserialization) => {
    const client = () =>
      new Redis({
        url: endpoint().url,
        token: endpoint().token,
        automaticDeserialization,
        enableTelemetry: false,
      });

    it("round-trips non-ASCII strings", async () => {
      const redis = client();
      const key = `${uniquePrefix()}text`;
      const value = "héllo wörld 😀 漢字 かな 🇩🇪";
      expect(await redis.set(key, value)).toBe("OK");
      expect(await redis.get(key)).toBe(value);
    });

    it("round-trips binary-like values and strings that look like other things", async () => {
      const redis = client();
      const prefix = uniquePrefix();
      const values = {
        controlBytes: "\u0000\u00ff\u0001",
        base64Lookalike: "aGVsbG8=",
        okLookalike: "OK",
        numberLookalike: "12345",
        jsonLookalike: '{"a":1}',
      };
      for (const [name, value] of Object.entries(values)) await redis.set(`${prefix}${name}`, value);

      expect(await redis.get(`${prefix}controlBytes`)).toBe(values.controlBytes);
      expect(await redis.get(`${prefix}base64Lookalike`)).toBe(values.base64Lookalike);
      expect(await redis.get(`${prefix}okLookalike`)).toBe("OK");
      // With automatic deserialization the client JSON-parses what it reads, by design.
      expect(await redis.get(`${prefix}numberLookalike`)).toEqual(automaticDeserialization ? 12345 : "12345");
      expect(await redis.get(`${prefix}jsonLookalike`)).toEqual(
        automaticDeserialization ? { a: 1 } : values.jsonLookalike,
      );
      // The bytes in Redis are the UTF-8 of what was sent: U+0000, U+00FF (2 bytes), U+0001.
      expect(await redis.strlen(`${prefix}controlBytes`)).toBe(4);
    });

    it("answers integers as numbers and a missing key as null", async () => {
      const redis = client();
      const key = `${uniquePrefix()}counter`;
      expect(await redis.incr(key)).toBe(1);
      expect(await redis.incrby(key, 41)).toBe(42);
      expect(await redis.get(`${key}:missing`)).toBeNull();
      expect(await redis.exists(key, `${key}:missing`)).toBe(1);
    });

    it("answers arrays: LRANGE, HGETALL, ZRANGE WITHSCORES", async () => {
      const redis = client();
      const prefix = uniquePrefix();
      expect(await redis.rpush(`${prefix}list`, "a", "ü", "😀")).toBe(3);
      expect(await redis.lrange(`${prefix}list`, 0, -1)).toEqual(["a", "ü", "😀"]);

      expect(await redis.hset(`${prefix}hash`, { title: "Grüße", count: "3" })).toBe(2);
      const hash = await redis.hgetall(`${prefix}hash`);
      expect(hash).toEqual(
        automaticDeserialization ? { title: "Grüße", count: 3 } : ["title", "Grüße", "count", "3"],
      );

      await redis.zadd(`${prefix}zset`, { score: 1.5, member: "x" }, { score: 2, member: "y" });
      const zrange = await redis.zrange(`${prefix}zset`, 0, -1, { withScores: true });
      expect(zrange).toEqual(automaticDeserialization ? ["x", 1.5, "y", 2] : ["x", "1.5", "y", "2"]);
      expect(await redis.zrange(`${prefix}missing`, 0, -1)).toEqual([]);
    });

    it("SET NX EX: the second NX returns null and the TTL is set", async () => {
      const redis = client();
      const key = `${uniquePrefix()}lease`;
      expect(await redis.set(key, "first", { nx: true, ex: 100 })).toBe("OK");
      expect(await redis.set(key, "second", { nx: true, ex: 100 })).toBeNull();
      expect(await redis.get(key)).toBe("first");
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(90);
      expect(ttl).toBeLessThanOrEqual(100);
    });

    it("runs an explicit pipeline in one request", async () => {
      const redis = client();
      const key = `${uniquePrefix()}p`;
      endpoint().resetStats();
      const results = await redis
        .pipeline()
        .set(key, "v")
        .incr(`${key}:n`)
        .get(key)
        .get(`${key}:missing`)
        .lpush(key, "x")
        .exec({ keepErrors: true });
      expect(results.map((r) => r.result)).toEqual(["OK", 1, "v", null, undefined]);
      expect(results[4]?.error).toBe(WRONGTYPE);
      expect(endpoint().stats()).toMatchObject({ requests: 1, commands: 5, byPath: { "/pipeline": 1 } });
    });

    it("auto-pipelines concurrent calls into one request", async () => {
      const redis = client();
      const prefix = uniquePrefix();
      await redis.mset({ [`${prefix}a`]: "1x", [`${prefix}b`]: "2x", [`${prefix}c`]: "3x" });
      endpoint().resetStats();
      const values = await Promise.all([
        redis.get(`${prefix}a`),
        redis.get(`${prefix}b`),
        redis.get(`${prefix}c`),
        redis.get(`${prefix}d`),
      ]);
      expect(values).toEqual(["1x", "2x", "3x", null]);
      expect(endpoint().stats()).toMatchObject({ requests: 1, commands: 4, byPath: { "/pipeline": 1 } });
    });

    it("multi(): runs a transaction and reports a queued runtime error per command", async () => {
      const redis = client();
      const key = `${uniquePrefix()}tx`;
      const ok = await redis.multi().set(key, "1").incr(key).get(key).exec();
      expect(ok).toEqual(["OK", 2, automaticDeserialization ? 2 : "2"]);

      const withError = await redis.multi().set(key, "x").lpush(key, "y").get(key).exec({ keepErrors: true });
      expect(withError.map((r) => r.error)).toEqual([undefined, WRONGTYPE, undefined]);
      expect(withError[2]?.result).toBe("x");
      await expect(redis.multi().set(key, "z").lpush(key, "y").exec()).rejects.toThrow(WRONGTYPE);
      // A runtime error does not roll back the other commands, as in Redis.
      expect(await redis.get(key)).toBe("z");
      expect(endpoint().stats().byPath["/multi-exec"]).toBeGreaterThanOrEqual(3);
    });

    it("throws Redis's error text verbatim", async () => {
      const redis = client();
      const key = `${uniquePrefix()}str`;
      await redis.set(key, "v");
      await expect(redis.lpush(key, "x")).rejects.toThrow(WRONGTYPE);
      await expect(redis.hget(key, "f")).rejects.toThrow(WRONGTYPE);
    });

    it("rejects a wrong token with Unauthorized", async () => {
      const redis = new Redis({
        url: endpoint().url,
        token: "not-the-token",
        automaticDeserialization,
        enableTelemetry: false,
      });
      await expect(redis.get("anything")).rejects.toThrow(/Unauthorized/);
    });

    it("EVALSHA: NOSCRIPT for an unknown sha, then works after EVAL; SCRIPT LOAD answers the client's sha", async () => {
      const redis = client();
      const key = `${uniquePrefix()}lua`;
      const script = `-- ${randomUUID()}\nreturn {redis.call("INCRBY", KEYS[1], ARGV[1]), ARGV[2]}`;
      await expect(redis.evalsha(sha1(script), [key], ["1", "a"])).rejects.toThrow(
        "NOSCRIPT No matching script. Please use EVAL.",
      );
      expect(await redis.eval(script, [key], ["2", "ü"])).toEqual([2, "ü"]);
      expect(await redis.evalsha(sha1(script), [key], ["3", "b"])).toEqual([5, "b"]);

      const other = `-- ${randomUUID()}\nreturn 7`;
      expect(await redis.scriptExists(sha1(other))).toEqual([0]);
      expect(await redis.scriptLoad(other)).toBe(sha1(other));
      expect(await redis.scriptExists(sha1(other), sha1(script))).toEqual([1, 1]);
    });

    it("runs scripts that start with `#!lua flags=allow-key-locking`, by their original sha", async () => {
      const redis = client();
      const key = `${uniquePrefix()}locked`;
      const script = `#!lua flags=allow-key-locking\n-- ${randomUUID()}\nreturn redis.call("INCRBY", KEYS[1], ARGV[1])`;
      await expect(redis.evalsha(sha1(script), [key], ["1"])).rejects.toThrow("NOSCRIPT");
      expect(await redis.eval(script, [key], ["10"])).toBe(10);
      expect(await redis.evalsha(sha1(script), [key], ["5"])).toBe(15);

      const loaded = `#!lua flags=allow-key-locking\n-- ${randomUUID()}\nreturn ARGV[1]`;
      expect(await redis.scriptLoad(loaded)).toBe(sha1(loaded));
      expect(await redis.scriptExists(sha1(loaded))).toEqual([1]);
      expect(await redis.evalsha(sha1(loaded), [], ["echo"])).toBe("echo");
    });

    it("never answers a JSON boolean: Lua true is 1, false is nil", async () => {
      const redis = client();
      expect(await redis.eval("return true", [], [])).toBe(1);
      expect(await redis.eval("return false", [], [])).toBeNull();
    });

    // Windows are aligned to multiples of their length since the epoch; a test that crossed a boundary would
    // see a fresh window. Freezing only Date (timers and I/O stay real) puts every call mid-window.
    const freezeMidWindow = (windowMs: number) => {
      vi.useFakeTimers({
        toFake: ["Date"],
        now: Math.floor(Date.now() / windowMs) * windowMs + windowMs / 2,
      });
    };
    afterEach(() => {
      vi.useRealTimers();
    });

    it("Ratelimit.slidingWindow(3, '10 s') allows 3 and denies the 4th", async () => {
      freezeMidWindow(10_000);
      const limiter = new Ratelimit({
        redis: client(),
        limiter: Ratelimit.slidingWindow(3, "10 s"),
        prefix: uniquePrefix(),
        ephemeralCache: false,
      });
      const outcomes = [];
      for (let i = 0; i < 4; i++) outcomes.push(await limiter.limit("203.0.113.7"));
      expect(outcomes.map((o) => o.success)).toEqual([true, true, true, false]);
      expect(outcomes.map((o) => o.remaining)).toEqual([2, 1, 0, 0]);
      // A timeout would fail open with success: true; make sure every answer came from Redis.
      expect(outcomes.every((o) => o.reason === undefined)).toBe(true);
      expect((await limiter.limit("198.51.100.1")).success).toBe(true);
    });

    it("Ratelimit.fixedWindow(2, '10 s') allows 2 and denies the 3rd", async () => {
      freezeMidWindow(10_000);
      const limiter = new Ratelimit({
        redis: client(),
        limiter: Ratelimit.fixedWindow(2, "10 s"),
        prefix: uniquePrefix(),
        ephemeralCache: false,
      });
      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push(await limiter.limit("user-1"));
      expect(outcomes.map((o) => o.success)).toEqual([true, true, false]);
      expect(outcomes.map((o) => o.remaining)).toEqual([1, 0, 0]);
      expect(await limiter.getRemaining("user-1")).toMatchObject({ remaining: 0 });
    });
  });

  it("counts requests and commands, and resets them over HTTP", async () => {
    const redis = new Redis({ url: endpoint().url, token: endpoint().token, enableTelemetry: false });
    const reset = await post(endpoint(), "/_local/stats/reset", "");
    expect(reset.status).toBe(200);
    await redis.set(`${uniquePrefix()}s`, "1");
    const res = await fetch(`${endpoint().url}/_local/stats`, {
      headers: { authorization: `Bearer ${endpoint().token}` },
    });
    expect(await res.json()).toEqual({
      server: "upstash-local",
      engine,
      requests: 1,
      commands: 1,
      byPath: { "/pipeline": 1 },
    });
  });
});
