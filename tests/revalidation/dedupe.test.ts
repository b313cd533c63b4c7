/**
 * De-duplication under concurrency, failure and crashes, and failing open when Redis is gone:
 * the guarantees of "Processing order" in receiver-contract.md.
 */
import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, inject, test } from "vitest";
import { keys } from "../../lib/redis";
import { ACTIVITY_LENGTH, findActivity } from "../../lib/revalidation/activity";
import { claimRevalidationId, namespacedId, readRevalidationStatus } from "../../lib/revalidation/dedupe";
import { startLocalUpstash } from "../../scripts/upstash-local/server";
import { outageEndpoint } from "../setup/outage";
import { createHarness, unique, waitFor } from "./harness";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

test("200 concurrent deliveries of one ID revalidate exactly once", async () => {
  // Generous Redis deadlines: this test is about atomicity, and 200 requests at once through the
  // local endpoint on a small CI machine can outlast the production budget, which fails open
  // (correctly) and would then revalidate more than once.
  const h = createHarness({ redisTimeoutMs: 20_000, deps: { redisBudgetMs: 20_000 } });
  const id = unique("burst");
  const token = await h.token();
  const results = await Promise.all(
    Array.from({ length: 200 }, () => h.send({ token, body: { id, tags: ["posts"] } })),
  );
  const statuses = results.map(({ response, json }) =>
    response.status === 200 ? String(json.status) : String(response.status),
  );
  expect(statuses.filter((s) => s === "revalidated")).toHaveLength(1);
  expect(statuses.every((s) => s === "revalidated" || s === "duplicate" || s === "409")).toBe(true);
  expect(h.revalidated).toHaveLength(1);
  await h.settle();
  expect((await h.send({ token, body: { id, tags: ["posts"] } })).json.status).toBe("duplicate");
  expect(h.revalidated).toHaveLength(1);
}, 30_000);

test("a claim is released when revalidation throws, so the retry is processed", async () => {
  let failNext = true;
  const calls: string[] = [];
  const h = createHarness({
    deps: {
      revalidateTag: (tag) => {
        calls.push(tag);
        if (failNext) {
          failNext = false;
          throw new Error("cache handler unavailable");
        }
      },
    },
  });
  const id = unique("retry");
  const failed = await h.send({ body: { id, tags: ["posts"] } });
  expect(failed.response.status).toBe(500);
  // No settle(): the release happens before the answer, so an immediate retry is not a 409.
  const retry = await h.send({ body: { id, tags: ["posts"] } });
  expect(retry.json).toMatchObject({ status: "revalidated", id, deduplicated: true });
  expect(calls).toEqual(["posts", "posts"]);
  await h.settle();
  const failedLine = h.lines.find((line) => line.status === 500);
  expect(failedLine?.outcome).toBe("failed");
  expect(failedLine?.notes.join(" ")).toContain("cache handler unavailable");
});

test("an expired lease lets a retry through (the process died between claim and done)", async () => {
  const leaseMs = 300;
  const h = createHarness({ deps: { leaseMs } });
  const id = unique("crash");
  // The "crashed" request: claimed, never revalidated, never marked done.
  const claim = await claimRevalidationId(h.redis, namespacedId({ iss: h.iss, scope: undefined }, id), {
    owner: "crashed-request",
    now: new Date(),
    leaseMs,
    tags: ["posts"],
  });
  expect(claim.state).toBe("claimed");

  const during = await h.send({ body: { id, tags: ["posts"] } });
  expect(during.response.status).toBe(409);
  expect(during.response.headers.get("retry-after")).toBe("1");

  let status = "";
  await waitFor(
    async () => {
      const { json } = await h.send({ body: { id, tags: ["posts"] } });
      status = String(json.status ?? json.error?.code);
      return status !== "in_progress";
    },
    5000,
    "the lease to run out",
  );
  expect(status).toBe("revalidated");
  expect(h.revalidated).toHaveLength(1);
});

/** Where the shared layer does not run (Vercel, SHARED_TAG_STATE=off): the platform or the one process keeps the change. */
const sharedOff = { sharedTags: () => undefined };

describe("Redis unreachable, self-hosted: applied on this instance, answered 503 not_shared, never a 200 that could be lost", () => {
  test("nothing listening (connection refused)", async () => {
    const port = await closedPort();
    const h = harnessAt(port);
    const id = unique("down");
    const started = performance.now();
    const { response, json } = await h.send({ body: { id, tags: ["posts", "post:a"] } });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    expect(json.error?.code).toBe("not_shared");
    expect(json.error?.message).toMatch(/Retry after 5 s with the same ID/);
    // Applied here all the same, and queued for when Redis answers again.
    expect(h.revalidated.map((r) => r.tag)).toEqual(["posts", "post:a"]);
    expect(h.shared.status().queued).toBe(1);
    expect(h.manifest.get("post:a")?.stale).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(1500);
    await h.settle();
    const line = h.lines[0];
    expect(line?.outcome).toBe("failed");
    expect(line?.notes.join(" ")).toMatch(/shared tag state unavailable/);
  });

  test("an endpoint that accepts connections and never answers: the answer still comes in about two seconds", async () => {
    const { port, close } = await blackHole();
    cleanups.push(close);
    const h = harnessAt(port);
    const started = performance.now();
    const { response } = await h.send({ body: { id: unique("hang"), tags: ["posts"] } });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(503);
    expect(h.revalidated).toHaveLength(1);
    // The limits and the claim share one 900 ms budget; the shared publish has its own 800 ms.
    expect(elapsed).toBeLessThan(2200);
  });

  test("the Upstash endpoint stopped after it worked, then back: the retry is processed, not told duplicate", async () => {
    const endpoint = await outageEndpoint();
    cleanups.push(() => endpoint.close());
    const h = createHarness({
      redisUrl: endpoint.url,
      redisToken: endpoint.token,
      productionDeadlines: true,
    });
    expect((await h.send({ body: { id: unique("before"), tags: ["posts"] } })).json.deduplicated).toBe(true);
    await endpoint.stop();
    const id = unique("during");
    const during = await h.send({ body: { id, tags: ["posts"] } });
    expect(during.response.status).toBe(503);
    await endpoint.start();
    const retry = await h.send({ body: { id, tags: ["posts"] } });
    expect(retry.response.status).toBe(200);
    expect(retry.json).toMatchObject({ status: "revalidated", id, deduplicated: true });
    expect(h.revalidated).toHaveLength(3);
  });
});

describe("Redis unreachable where the shared layer is off (Vercel): still revalidated, within about a second", () => {
  test("nothing listening (connection refused)", async () => {
    const port = await closedPort();
    const h = harnessAt(port, sharedOff);
    const id = unique("down");
    const started = performance.now();
    const { response, json } = await h.send({ body: { id, tags: ["posts", "post:a"] } });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(200);
    expect(json).toMatchObject({ status: "revalidated", id, deduplicated: false });
    expect(json.warning).toContain("De-duplication was unavailable");
    expect(h.revalidated.map((r) => r.tag)).toEqual(["posts", "post:a"]);
    expect(elapsed).toBeLessThan(1500);
    await h.settle();
    const line = h.lines[0];
    expect(line?.deduplicated).toBe(false);
    expect(line?.notes.join(" ")).toMatch(/rate limit unavailable/);
    expect(line?.notes.join(" ")).toMatch(/de-duplication unavailable/);
  });

  test("an endpoint that accepts connections and never answers", async () => {
    const { port, close } = await blackHole();
    cleanups.push(close);
    const h = harnessAt(port, sharedOff);
    const started = performance.now();
    const { response, json } = await h.send({ body: { id: unique("hang"), tags: ["posts"] } });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(200);
    expect(json).toMatchObject({ status: "revalidated", deduplicated: false });
    expect(h.revalidated).toHaveLength(1);
    expect(elapsed).toBeLessThan(1500);
  });

  test("a bad token is still a 401 (nothing but Redis fails open)", async () => {
    const port = await closedPort();
    const h = harnessAt(port);
    const { response } = await h.send({ token: "bad.token.here", body: { tags: ["posts"] } });
    expect(response.status).toBe(401);
    expect(h.revalidated).toEqual([]);
  });
});

test("the critical path makes one Redis round trip: limit, claim and shared publish in one script (measured at the endpoint)", async () => {
  const endpoint = await startLocalUpstash({ redisUrl: inject("redisUrl"), port: 0, log: () => {} });
  cleanups.push(() => endpoint.close());
  const h = createHarness({ redisUrl: endpoint.url, redisToken: endpoint.token, productionDeadlines: true });
  // Warm-up: the script's first EVALSHA on a Redis that does not know it is a NOSCRIPT and an EVAL.
  await h.send({ body: { id: unique("warm"), tags: ["posts"] } });
  await h.settle();
  const versionBefore = Number(await h.redis.get<string>(keys.tagVersion()));
  endpoint.resetStats();

  const { json } = await h.send({ body: { id: unique("counted"), tags: ["posts"] } });
  expect(json.status).toBe("revalidated");
  // The shared publish is answered before the 200 (the 200 promises every instance will apply
  // it), in the same script as the limit and the claim.
  expect(endpoint.stats().requests).toBe(1);
  // The script recorded done with its publish: nothing is left to mark after the response.
  const { id: countedId } = json as { id: string };
  const key = namespacedId({ iss: h.iss, scope: undefined }, countedId);
  const beforeRead = endpoint.stats().requests;
  expect((await readRevalidationStatus(h.redis, key, new Date()))?.state).toBe("done");
  const read = endpoint.stats().requests - beforeRead;
  await h.settle();
  // After the response only the recent log: one pipeline (activity.ts batches them).
  expect(endpoint.stats().requests - beforeRead - read).toBe(1);
  expect(h.lines.at(-1)?.redisRoundTrips).toBe(1);
  expect(h.shared.status().queued).toBe(0);
  expect(Number(await h.redis.get<string>(keys.tagVersion()))).toBeGreaterThan(versionBefore);
});

test("done is kept for idTtlSeconds and the recent log is capped", async () => {
  const h = createHarness();
  const id = unique("ttl");
  await h.send({ body: { id, tags: ["posts"] } });
  await h.settle();
  const ttl = await h.redis.ttl(`revalidate:id:${namespacedId({ iss: h.iss, scope: undefined }, id)}`);
  expect(ttl).toBeGreaterThan(3500);
  expect(ttl).toBeLessThanOrEqual(3600);
  expect(await h.redis.llen("revalidate:recent")).toBeLessThanOrEqual(ACTIVITY_LENGTH);
  const recent = await findActivity(h.redis, id);
  expect(recent).toHaveLength(1);
  expect(recent[0]).toMatchObject({
    id,
    iss: h.iss,
    outcome: "revalidated",
    status: 200,
    deduplicated: true,
  });
});

/** A harness whose Redis is expected at `port` on loopback, with the production deadlines. */
function harnessAt(port: number, deps?: typeof sharedOff) {
  return createHarness({
    redisUrl: `http://127.0.0.1:${port}`,
    redisToken: "irrelevant",
    productionDeadlines: true,
    ...(deps ? { deps } : {}),
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function blackHole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<import("node:net").Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("an ID is bound to its tags and to the token's authority", () => {
  test("the same ID with other tags is a 409 id_conflict that says what differs, never a duplicate", async () => {
    const h = createHarness();
    const id = unique("bound");
    const first = await h.send({ body: { id, tags: ["posts", "post:hello-world"] } });
    expect(first.json.status).toBe("revalidated");
    await h.settle();

    // The same set in another order with a repeat is the same delivery.
    const again = await h.send({ body: { id, tags: ["post:hello-world", "posts", "posts"] } });
    expect(again.json.status).toBe("duplicate");

    const other = await h.send({ body: { id, tags: ["posts", "post:other-post"] } });
    expect(other.response.status).toBe(409);
    expect(other.json.error?.code).toBe("id_conflict");
    expect(other.json.error?.message).toContain('adds "post:other-post"');
    expect(other.json.error?.message).toContain('leaves out "post:hello-world"');
    expect(other.json.error?.message).toMatch(/Use a new ID/);
    expect(h.revalidated.map((r) => r.tag)).toEqual(["posts", "post:hello-world"]);
  });

  test("an ID claimed while still processing with other tags is a conflict too", async () => {
    const h = createHarness();
    const id = unique("bound-processing");
    const key = namespacedId({ iss: h.iss, scope: undefined }, id);
    await claimRevalidationId(h.redis, key, {
      owner: "other",
      now: new Date(),
      leaseMs: 30_000,
      tags: ["posts"],
    });
    const { response, json } = await h.send({ body: { id, tags: ["site"] } });
    expect(response.status).toBe(409);
    expect(json.error?.code).toBe("id_conflict");
  });

  test("a comments:* token sending the CMS's ID first cannot make the post:* token's delivery a no-op", async () => {
    const h = createHarness();
    const id = "post-42-rev-7";
    const narrow = await h.token({ scope: ["comments:*"], jti: undefined });
    const broad = await h.token({ scope: ["post:*"] });
    // Same iss on purpose: even then the namespaces differ, because the scopes do.
    const attack = await h.send({ token: narrow, body: { id, tags: ["comments:hello-world"] } });
    expect(attack.json.status).toBe("revalidated");
    const delivery = await h.send({ token: broad, body: { id, tags: ["post:hello-world"] } });
    expect(delivery.response.status).toBe(200);
    expect(delivery.json.status).toBe("revalidated");
    expect(h.revalidated.map((r) => r.tag)).toContain("post:hello-world");
    await h.settle();
    // ... and a narrow token that covers the same tags still cannot pre-empt the broad one.
    const exact = await h.token({ scope: ["post:hello-world"] });
    const id2 = unique("pre-empt");
    expect((await h.send({ token: exact, body: { id: id2, tags: ["post:hello-world"] } })).json.status).toBe(
      "revalidated",
    );
    expect((await h.send({ token: broad, body: { id: id2, tags: ["post:hello-world"] } })).json.status).toBe(
      "revalidated",
    );
  });

  test("two different senders (iss) never share an ID", async () => {
    const h = createHarness();
    const id = unique("two-senders");
    const other = await h.token({ issuer: unique("attacker").slice(0, 40) });
    expect((await h.send({ token: other, body: { id, tags: ["posts"] } })).json.status).toBe("revalidated");
    expect((await h.send({ body: { id, tags: ["posts"] } })).json.status).toBe("revalidated");
  });

  test("namespaces: same iss and scope (in any order) share one; no scope and ['*'] are the same authority", () => {
    const a = namespacedId({ iss: "cms", scope: ["post:*", "posts"] }, "x");
    expect(namespacedId({ iss: "cms", scope: ["posts", "post:*", "posts"] }, "x")).toBe(a);
    expect(namespacedId({ iss: "cms", scope: ["post:*"] }, "x")).not.toBe(a);
    expect(namespacedId({ iss: "cms", scope: undefined }, "x")).toBe(
      namespacedId({ iss: "cms", scope: ["*"] }, "x"),
    );
    expect(namespacedId({ iss: "cms|x", scope: undefined }, "y")).not.toBe(
      namespacedId({ iss: "cms", scope: undefined }, "x|y"),
    );
  });
});
