/**
 * Every row of the response table in receiver-contract.md, plus the headers every response carries.
 */
import { describe, expect, test } from "vitest";
import { ConfigError } from "../../lib/env";
import { keys } from "../../lib/redis";
import { testVocabulary } from "../setup/tag-vocabulary";
import { createHarness, type Json, unique, waitFor } from "./harness";

function expectEnvelope(response: Response, json: Json): void {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(response.headers.get("x-robots-tag")).toBe("noindex");
  expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  expect(json.requestId).toBe(response.headers.get("x-request-id"));
}

describe("200", () => {
  test("revalidated: every tag with profile 'max', de-duplicated, with RateLimit headers", async () => {
    const h = createHarness();
    const id = unique("post-42-rev");
    const { response, json } = await h.send({ body: { id, tags: ["posts", "post:hello-world"] } });
    expectEnvelope(response, json);
    expect(response.status).toBe(200);
    expect(json).toMatchObject({
      status: "revalidated",
      id,
      tags: ["posts", "post:hello-world"],
      profile: "max",
      deduplicated: true,
    });
    expect(Number.isNaN(Date.parse(json.at ?? ""))).toBe(false);
    expect(h.revalidated).toEqual([
      { tag: "posts", profile: "max" },
      { tag: "post:hello-world", profile: "max" },
    ]);
    expect(response.headers.get("ratelimit-limit")).toBe("100000");
    expect(response.headers.get("ratelimit-remaining")).toBe("99999");
  });

  test("duplicate: a second delivery of the same ID revalidates nothing and says when it was first seen", async () => {
    const h = createHarness();
    const id = unique("rev");
    const first = await h.send({ body: { id, tags: ["posts"] } });
    await h.settle();
    const second = await h.send({ body: { id, tags: ["posts"] } });
    expectEnvelope(second.response, second.json);
    expect(second.response.status).toBe(200);
    expect(second.json).toMatchObject({ status: "duplicate", id });
    // First seen when the first delivery claimed the ID, just before it revalidated.
    const firstSeen = Date.parse(second.json.firstSeenAt ?? "");
    expect(firstSeen).toBeLessThanOrEqual(Date.parse(first.json.at ?? ""));
    expect(Date.parse(first.json.at ?? "") - firstSeen).toBeLessThan(5000);
    expect(h.revalidated).toHaveLength(1);
  });

  test("dry-run: everything checked, nothing revalidated or claimed", async () => {
    const h = createHarness();
    const id = unique("rev");
    const dry = await h.send({ body: { id, tags: ["posts", "posts"], dryRun: true } });
    expectEnvelope(dry.response, dry.json);
    expect(dry.response.status).toBe(200);
    expect(dry.json).toMatchObject({ status: "dry-run", id, tags: ["posts"] });
    expect(h.revalidated).toEqual([]);
    await h.settle();
    // Not claimed: the real delivery with the same ID is processed.
    const real = await h.send({ body: { id, tags: ["posts"] } });
    expect(real.json.status).toBe("revalidated");
    expect(h.revalidated).toHaveLength(1);
  });

  test("a dry run still checks the input", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { tags: ["pots"], dryRun: true } });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("unknown_tag");
  });
});

describe("400", () => {
  test("invalid_json", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ rawBody: '{"tags": ["posts"' });
    expectEnvelope(response, json);
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_json");
  });

  test("invalid_body, with issues and no echo of the body", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { tags: "posts-marker-xyz" } });
    expectEnvelope(response, json);
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_body");
    expect(json.error?.issues?.[0]?.path).toBe("tags");
    expect(JSON.stringify(json)).not.toContain("marker-xyz");
  });

  test("unknown_tag names the tag and lists the known shapes", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { tags: ["posts", "psot:hello"] } });
    expectEnvelope(response, json);
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("unknown_tag");
    expect(json.error?.message).toContain('"psot:hello"');
    for (const shape of testVocabulary.shapes) expect(json.error?.message).toContain(shape);
    expect(json.error?.issues?.[0]?.path).toBe("tags.1");
    expect(h.revalidated).toEqual([]);
  });

  test("invalid_id", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { id: "has space", tags: ["posts"] } });
    expectEnvelope(response, json);
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_id");
    expect(json.error?.message).toContain("A-Z a-z 0-9");
  });
});

describe("401", () => {
  test("no token: an RFC 6750 challenge without an error code", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ token: null, body: { tags: ["posts"] } });
    expectEnvelope(response, json);
    expect(response.status).toBe(401);
    expect(json.error?.code).toBe("unauthorized");
    expect(json.error?.message).toContain("Authorization: Bearer");
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="revalidate"');
  });

  test('bad token: error="invalid_token"', async () => {
    const h = createHarness();
    const { response, json } = await h.send({ token: "not.a.jwt", body: { tags: ["posts"] } });
    expectEnvelope(response, json);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="revalidate", error="invalid_token"');
    expect(h.revalidated).toEqual([]);
  });

  test("a scheme other than Bearer", async () => {
    const h = createHarness();
    const { response } = await h.send({
      token: null,
      headers: { authorization: "Basic dXNlcjpwYXNz" },
      body: { tags: ["posts"] },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });
});

test("403 forbidden: the token's scope does not cover a tag", async () => {
  const h = createHarness();
  const token = await h.token({ scope: ["post:*"] });
  const { response, json } = await h.send({ token, body: { tags: ["post:a", "posts"] } });
  expectEnvelope(response, json);
  expect(response.status).toBe(403);
  expect(json.error?.code).toBe("forbidden");
  expect(json.error?.message).toContain('"posts"');
  expect(response.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
  expect(h.revalidated).toEqual([]);
});

test.each(["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])("405 for %s, with Allow: POST", async (method) => {
  const h = createHarness();
  const { response, json } = await h.send({ method, body: { tags: ["posts"] } });
  expectEnvelope(response, json);
  expect(response.status).toBe(405);
  expect(json.error?.code).toBe("method_not_allowed");
  expect(response.headers.get("allow")).toBe("POST");
});

/** A harness whose first delivery blocks inside `revalidateTag` until `release()`. */
function blockedInRevalidateTag(deps: { sharedTags?: () => undefined } = {}) {
  let release: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => {
    release = resolve;
  });
  const counter = { calls: 0 };
  const h = createHarness({
    deps: {
      ...deps,
      revalidateTag: async () => {
        counter.calls += 1;
        await blocked;
      },
    },
  });
  return { h, counter, release };
}

test("409 in_progress while the same ID is being processed, with Retry-After (no shared publish: Vercel, or the layer off)", async () => {
  const { h, counter, release } = blockedInRevalidateTag({ sharedTags: () => undefined });
  const calls = () => counter.calls;
  const id = unique("rev");
  const first = h.send({ body: { id, tags: ["posts"] } });
  // Wait until the first request holds the claim (it is inside revalidateTag).
  await waitFor(() => calls() > 0, 5000, "the first request to hold the claim");
  try {
    const second = await h.send({ body: { id, tags: ["posts"] } });
    expectEnvelope(second.response, second.json);
    expect(second.response.status).toBe(409);
    expect(second.json.error?.code).toBe("in_progress");
    const retryAfter = Number(second.response.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
  } finally {
    // Unblocks the first request even when an assertion above failed, so the test ends now.
    release();
  }
  expect((await first).json.status).toBe("revalidated");
  expect(calls()).toBe(1);
});

test("with the shared publish, the same ID during the first delivery's revalidateTag is already a duplicate: its script recorded done with the publish", async () => {
  const { h, counter, release } = blockedInRevalidateTag();
  const id = unique("rev");
  const first = h.send({ body: { id, tags: ["posts"] } });
  await waitFor(() => counter.calls > 0, 5000, "the first request to reach revalidateTag");
  try {
    const version = () => h.redis.get<string>(keys.tagVersion()).then(Number);
    const published = await version();
    const second = await h.send({ body: { id, tags: ["posts"] } });
    expectEnvelope(second.response, second.json);
    expect(second.response.status).toBe(200);
    expect(second.json).toMatchObject({ status: "duplicate", id });
    // Nothing published for the duplicate.
    expect(await version()).toBe(published);
  } finally {
    release();
  }
  expect((await first).json.status).toBe("revalidated");
  expect(counter.calls).toBe(1);
});

test("413 payload_too_large", async () => {
  const h = createHarness();
  const { response, json } = await h.send({
    rawBody: JSON.stringify({ tags: ["posts"], pad: "x".repeat(33 * 1024) }),
  });
  expectEnvelope(response, json);
  expect(response.status).toBe(413);
  expect(json.error?.code).toBe("payload_too_large");
});

test("415 unsupported_media_type", async () => {
  const h = createHarness();
  const { response, json } = await h.send({
    headers: { "content-type": "text/plain" },
    body: { tags: ["posts"] },
  });
  expectEnvelope(response, json);
  expect(response.status).toBe(415);
  expect(json.error?.code).toBe("unsupported_media_type");
});

test("429 rate_limited, with Retry-After and RateLimit-* headers", async () => {
  const h = createHarness({ revalidateLimit: { requests: 1, window: "1 m" } });
  expect((await h.send({ body: { tags: ["posts"] } })).response.status).toBe(200);
  const { response, json } = await h.send({ body: { tags: ["posts"] } });
  expectEnvelope(response, json);
  expect(response.status).toBe(429);
  expect(json.error?.code).toBe("rate_limited");
  expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(response.headers.get("ratelimit-limit")).toBe("1");
  expect(response.headers.get("ratelimit-remaining")).toBe("0");
  expect(Number(response.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(0);
});

test("500 internal reveals no stack or internals", async () => {
  const h = createHarness({
    deps: {
      revalidateTag: () => {
        throw new Error("boom in /srv/app/internal-path.ts");
      },
    },
  });
  const { response, json } = await h.send({ body: { id: unique("rev"), tags: ["posts"] } });
  expectEnvelope(response, json);
  expect(response.status).toBe(500);
  expect(json.error?.code).toBe("internal");
  const text = JSON.stringify(json);
  expect(text).not.toContain("boom");
  expect(text).not.toContain("internal-path");
  expect(text).not.toMatch(/\bat .*:\d+:\d+/);
});

describe("503 not_configured", () => {
  test("when REVALIDATION_SECRET is unset", async () => {
    const h = createHarness({
      deps: { config: () => ({ secrets: [], audience: "revalidate", idTtlSeconds: 86400 }) },
    });
    const { response, json } = await h.send({ body: { tags: ["posts"] } });
    expectEnvelope(response, json);
    expect(response.status).toBe(503);
    expect(json.error?.code).toBe("not_configured");
    expect(json.error?.message).toContain("REVALIDATION_SECRET");
  });

  test("when the configuration is invalid, without revealing it", async () => {
    const h = createHarness({
      deps: {
        config: () => {
          throw new ConfigError(
            "Invalid revalidation configuration:\n  - REVALIDATION_SECRET: must be at least 32 bytes",
          );
        },
      },
    });
    const { response, json } = await h.send({ body: { tags: ["posts"] } });
    expect(response.status).toBe(503);
    expect(json.error?.code).toBe("not_configured");
    expect(json.error?.message).not.toContain("32 bytes");
  });

  test("with the real environment reader, lazily: no secret means 503, not a crash", async () => {
    const { revalidationEnv } = await import("../../lib/env");
    const h = createHarness({ deps: { config: () => revalidationEnv({}) } });
    const { response } = await h.send({ body: { tags: ["posts"] } });
    expect(response.status).toBe(503);
  });
});
