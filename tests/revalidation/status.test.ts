/**
 * GET /api/revalidate/<id> (lib/revalidation/status.ts) through the real receiver and real Redis:
 * each state, failures recorded with why, and never another sender's ID.
 */
import { describe, expect, test } from "vitest";
import { claimRevalidationId, namespacedId } from "../../lib/revalidation/dedupe";
import { mintRevalidationToken } from "../../lib/revalidation/mint";
import { RedisUnavailable } from "../../lib/revalidation/redis-budget";
import { handleRevalidationStatus } from "../../lib/revalidation/status";
import { createHarness, type Harness, SECRET, unique } from "./harness";

async function status(h: Harness, id: string, token?: string | null) {
  const headers = new Headers();
  const bearer = token === undefined ? await h.token() : token;
  if (bearer !== null) headers.set("authorization", `Bearer ${bearer}`);
  const response = await handleRevalidationStatus(
    new Request(`http://localhost/api/revalidate/${encodeURIComponent(id)}`, { headers }),
    encodeURIComponent(id),
    {
      config: h.deps.config,
      redis: h.deps.redis,
      now: () => new Date(),
      requestId: () => "status-test",
      log: () => {},
      vocabulary: h.deps.vocabulary,
    },
  );
  return { response, json: (await response.json()) as Record<string, unknown> };
}

test("done: first seen, done, and the tags", async () => {
  const h = createHarness();
  const id = unique("done/with:odd+chars");
  await h.send({ body: { id, tags: ["posts", "post:a"] } });
  await h.settle();
  const { response, json } = await status(h, id);
  expect(response.status).toBe(200);
  expect(response.headers.get("cache-control")).toBe("no-store");
  expect(json).toMatchObject({ id, state: "done", tags: ["post:a", "posts"] });
  expect(Date.parse(String(json.doneAt))).toBeGreaterThanOrEqual(Date.parse(String(json.firstSeenAt)));
});

test("processing: with when its lease ends", async () => {
  const h = createHarness();
  const id = unique("busy");
  const key = namespacedId({ iss: h.iss, scope: undefined }, id);
  await claimRevalidationId(h.redis, key, {
    owner: "someone",
    now: new Date(),
    leaseMs: 30_000,
    tags: ["posts"],
  });
  const { json } = await status(h, id);
  expect(json).toMatchObject({ state: "processing", tags: ["posts"] });
  const endsIn = Date.parse(String(json.leaseEndsAt)) - Date.now();
  expect(endsIn).toBeGreaterThan(25_000);
  expect(endsIn).toBeLessThanOrEqual(30_000);
});

describe("failed: recorded with why, and the retry is processed", () => {
  test("revalidateTag threw", async () => {
    let fail = true;
    const h = createHarness({
      deps: {
        revalidateTag: () => {
          if (fail) throw new Error("boom");
        },
      },
    });
    const id = unique("fails");
    expect((await h.send({ body: { id, tags: ["posts"] } })).response.status).toBe(500);
    const failed = await status(h, id);
    expect(failed.json).toMatchObject({
      state: "failed",
      reason: "revalidateTag failed on the server",
      tags: ["posts"],
    });
    expect(JSON.stringify(failed.json)).not.toContain("boom");
    fail = false;
    const retry = await h.send({ body: { id, tags: ["posts"] } });
    expect(retry.json).toMatchObject({ status: "revalidated", deduplicated: true });
    await h.settle();
    expect((await status(h, id)).json).toMatchObject({ state: "done" });
  });

  test("the shared tag state did not take it (503 not_shared)", async () => {
    // The one round trip ran in Redis but its answer was lost, and the shared tag state took
    // nothing after it: this request holds a claim it cannot know of, released after the 503.
    const h = createHarness({
      deps: {
        sharedTags: () => ({
          publishThrough: async (_tags, _durations, run) => {
            await run(Date.now());
            throw new RedisUnavailable("the answer was lost");
          },
          invalidate: async () => false,
        }),
      },
    });
    const id = unique("unshared");
    expect((await h.send({ body: { id, tags: ["posts"] } })).response.status).toBe(503);
    await h.settle();
    expect((await status(h, id)).json).toMatchObject({
      state: "failed",
      reason: expect.stringMatching(/shared tag state/),
    });
  });
});

describe("only the sender's own IDs", () => {
  test("another sender asking for the same ID is told it is unknown", async () => {
    const h = createHarness();
    const id = unique("mine");
    await h.send({ body: { id, tags: ["posts"] } });
    await h.settle();
    const other = await mintRevalidationToken({
      secret: SECRET,
      expiresInSeconds: 60,
      issuer: unique("other").slice(0, 40),
    });
    const { response, json } = await status(h, id, other);
    expect(response.status).toBe(404);
    expect(json).toMatchObject({ error: { code: "unknown_id" } });
  });

  test("a narrower scope of the same sender is another namespace too", async () => {
    const h = createHarness();
    const id = unique("scoped");
    await h.send({ body: { id, tags: ["posts"] } });
    await h.settle();
    const narrow = await h.token({ scope: ["comments:*"] });
    expect((await status(h, id, narrow)).response.status).toBe(404);
  });

  test("no token, a bad token, a bad ID", async () => {
    const h = createHarness();
    expect((await status(h, "x", null)).response.status).toBe(401);
    expect((await status(h, "x", "not.a.token")).response.status).toBe(401);
    const bad = await status(h, "spaces are not allowed");
    expect(bad.response.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { code: "invalid_id" } });
  });
});
