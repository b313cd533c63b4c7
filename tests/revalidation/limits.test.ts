/**
 * Rate limits (per sender, per client IP for failed authentication) and what reaches the log.
 */
import { describe, expect, test } from "vitest";
import { namespacedId, readRevalidationStatus } from "../../lib/revalidation/dedupe";
import { createHarness, unique, uniqueIp, waitFor } from "./harness";

describe("rate limit per sender", () => {
  test("per iss: over the limit is a 429 with Retry-After and RateLimit-*; another sender is unaffected", async () => {
    const h = createHarness({ revalidateLimit: { requests: 2, window: "1 m" } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await h.send({ body: { tags: ["posts"] } })).response.status);
    expect(statuses).toEqual([200, 200, 429]);

    const limited = await h.send({ body: { tags: ["posts"] } });
    expect(limited.json.error?.code).toBe("rate_limited");
    expect(limited.json.error?.message).toContain(h.iss);
    const retryAfter = Number(limited.response.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.response.headers.get("ratelimit-limit")).toBe("2");
    expect(limited.response.headers.get("ratelimit-remaining")).toBe("0");
    expect(h.revalidated).toHaveLength(2);

    // Same limiter, same client IP, another iss: its own bucket.
    const other = await h.send({
      token: await h.token({ issuer: unique("other").slice(0, 40) }),
      body: { tags: ["posts"] },
    });
    expect(other.response.status).toBe(200);
  });

  test("a rate-limited delivery leaves no claim behind: 12 concurrent deliveries over a limit of 5, each 429's ID unknown at once and revalidated on its retry", async () => {
    // The race the one-round-trip script guards against: were the claim taken before (or beside)
    // the limit, a limited delivery would hold its ID until a release, and the sender's retry
    // would meet it as 409 in_progress (or, released too late, never be processed at all).
    const h = createHarness({ revalidateLimit: { requests: 5, window: "1 s" } });
    const token = await h.token();
    const ids = Array.from({ length: 12 }, (_, i) => unique(`race-${i}`));
    const answers = await Promise.all(ids.map((id) => h.send({ token, body: { id, tags: ["posts"] } })));
    const limited = ids.filter((_, i) => answers[i]?.response.status === 429);
    const served = answers.filter(({ response }) => response.status === 200);
    expect(served.length + limited.length).toBe(ids.length);
    expect(limited.length).toBeGreaterThanOrEqual(ids.length - 5);
    for (const id of limited) {
      expect(
        await readRevalidationStatus(h.redis, namespacedId({ iss: h.iss, scope: undefined }, id), new Date()),
      ).toBeNull();
    }
    const retried = limited[0] as string;
    let answer = "";
    await waitFor(
      async () => {
        const { response, json } = await h.send({ token, body: { id: retried, tags: ["posts"] } });
        answer = response.status === 200 ? String(json.status) : `${response.status} ${json.error?.code}`;
        return response.status !== 429;
      },
      5000,
      "the sender's window to pass",
    );
    expect(answer).toBe("revalidated");
  });

  test("a rejected body does not spend the sender's limit", async () => {
    const h = createHarness({ revalidateLimit: { requests: 1, window: "1 m" } });
    expect((await h.send({ body: { tags: ["nope"] } })).response.status).toBe(400);
    expect((await h.send({ body: { tags: ["posts"] } })).response.status).toBe(200);
  });
});

describe("failed authentication per client IP", () => {
  test("over the limit, failures get a 429; other addresses are unaffected", async () => {
    const h = createHarness({ authFailureLimit: { requests: 3, window: "1 m" } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await h.send({ token: "bad.token.value", body: { tags: ["posts"] } })).response.status);
    expect(statuses).toEqual([401, 401, 401, 429]);

    const limited = await h.send({ token: "bad.token.value", body: { tags: ["posts"] } });
    expect(limited.json.error?.code).toBe("rate_limited");
    expect(limited.json.error?.message).toMatch(
      /Too many failed.*This attempt failed too: The token is not a valid JWT/,
    );
    expect(limited.response.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(Number(limited.response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited.response.headers.get("ratelimit-limit")).toBe("3");
    expect(limited.response.headers.get("ratelimit-remaining")).toBe("0");
    expect(h.revalidated).toEqual([]);

    const elsewhere = await h.send({ ip: uniqueIp(), token: "bad.token.value", body: { tags: ["posts"] } });
    expect(elsewhere.response.status).toBe(401);
  });

  test("15 bad tokens from a CMS's address, then the CMS's valid token: the valid token is served", async () => {
    const h = createHarness({ authFailureLimit: { requests: 10, window: "1 m" } });
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++)
      statuses.push((await h.send({ token: "bad.token.value", body: { tags: ["posts"] } })).response.status);
    expect(statuses.slice(10).every((status) => status === 429)).toBe(true);

    const valid = await h.send({ body: { id: unique("cms"), tags: ["post:hello-world"] } });
    expect(valid.response.status).toBe(200);
    expect(valid.json.status).toBe("revalidated");
    expect(h.revalidated).toEqual([{ tag: "post:hello-world", profile: "max" }]);
    // ...while guessing from that address stays slowed down.
    expect((await h.send({ token: "bad.token.value", body: { tags: ["posts"] } })).response.status).toBe(429);
  });

  test("a missing token counts as a failure", async () => {
    const h = createHarness({ authFailureLimit: { requests: 1, window: "1 m" } });
    expect((await h.send({ token: null, body: { tags: ["posts"] } })).response.status).toBe(401);
    expect((await h.send({ token: null, body: { tags: ["posts"] } })).response.status).toBe(429);
  });

  test("successes and bad bodies are not counted as failures", async () => {
    const h = createHarness({ authFailureLimit: { requests: 1, window: "1 m" } });
    for (let i = 0; i < 3; i++) {
      expect((await h.send({ body: { tags: ["posts"] } })).response.status).toBe(200);
      expect((await h.send({ body: { tags: "posts" } })).response.status).toBe(400);
    }
    expect((await h.send({ token: "bad.token.value", body: { tags: ["posts"] } })).response.status).toBe(401);
  });

  test("without a trustworthy address, failures share one bucket (forging the header does not help), and the log says so", async () => {
    const h = createHarness({ authFailureLimit: { requests: 2, window: "1 m" } });
    await h.limiters.authFailures.resetUsedTokens("unknown");
    const statuses: number[] = [];
    // ip: null sends no X-Forwarded-For; "not-an-ip" is unparseable: both land in the shared bucket.
    for (const ip of [null, "not-an-ip", null, "not-an-ip"]) {
      statuses.push(
        (await h.send({ ip, token: "bad.token.value", body: { tags: ["posts"] } })).response.status,
      );
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
    await h.settle();
    expect(h.lines.at(-1)?.notes.join(" ")).toContain("shared bucket");
    await h.limiters.authFailures.resetUsedTokens("unknown");
  });
});

describe("the log", () => {
  test("one line per request, with the fields the contract lists", async () => {
    const h = createHarness();
    const id = unique("logged");
    const { json } = await h.send({ body: { id, tags: ["posts", "post:a"] } });
    await h.settle();
    expect(h.lines).toHaveLength(1);
    expect(h.lines[0]).toMatchObject({
      msg: "revalidate",
      requestId: json.requestId,
      revalidationId: id,
      iss: h.iss,
      tags: ["posts", "post:a"],
      outcome: "revalidated",
      status: 200,
      redisRoundTrips: 1,
      deduplicated: true,
    });
    expect(h.lines[0]?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  test("never the token, never the body", async () => {
    const h = createHarness({ authFailureLimit: { requests: 100, window: "1 m" } });
    const marker = `marker${crypto.randomUUID().replaceAll("-", "")}`;
    const token = await h.token({ jti: unique("jti") });
    const signature = token.split(".")[2] ?? "";
    const bodies: unknown[] = [
      { tags: ["posts"], [marker]: true },
      { tags: [`post:${marker}!`] },
      { tags: ["posts"], id: `${marker} with spaces` },
      { tags: marker },
      `{"tags": ["${marker}"`,
    ];
    // Settled one by one: a line is written once its request's after-response work is done, and
    // the activity entry of a verified request waits for its batch (activity.ts), so lines of
    // requests sent together need not come in order.
    for (const body of bodies) {
      await h.send(typeof body === "string" ? { token, rawBody: body } : { token, body });
      await h.settle();
    }
    await h.send({ token: `${token}x`, body: { tags: ["posts"], note: marker } });
    await h.settle();
    await h.send({ token, body: { tags: ["posts"], dryRun: true } });
    await h.settle();
    expect(h.lines).toHaveLength(bodies.length + 2);
    const text = JSON.stringify(h.lines);
    expect(text).not.toContain(marker);
    expect(text).not.toContain(signature);
    expect(text).not.toContain(token.split(".")[1] ?? "");
    expect(h.lines.map((line) => line.status)).toEqual([400, 400, 400, 400, 400, 401, 200]);
  });

  test("latency and outcome of a rejected request", async () => {
    const h = createHarness();
    await h.send({ token: null, body: { tags: ["posts"] } });
    await h.settle();
    expect(h.lines[0]).toMatchObject({
      outcome: "rejected",
      status: 401,
      code: "unauthorized",
      iss: null,
      tags: [],
    });
  });
});
