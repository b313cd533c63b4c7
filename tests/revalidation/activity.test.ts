/**
 * The activity log operators read on /admin/revalidations (lib/revalidation/activity.ts): every
 * verified request recorded, and a burst of them written in a few round trips, not one each.
 */
import { afterEach, expect, inject, test } from "vitest";
import { ACTIVITY_LINGER_MS, findActivity, readActivity } from "../../lib/revalidation/activity";
import { startLocalUpstash } from "../../scripts/upstash-local/server";
import { createHarness, unique } from "./harness";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

test("a burst of deliveries is recorded in a few pipelines, every entry kept, newest first", async () => {
  const endpoint = await startLocalUpstash({ redisUrl: inject("redisUrl"), port: 0, log: () => {} });
  cleanups.push(() => endpoint.close());
  const h = createHarness({ redisUrl: endpoint.url, redisToken: endpoint.token });
  const token = await h.token();
  // Warm-up: the receiver's script is loaded into Redis once (NOSCRIPT, then EVAL).
  await h.send({ token, body: { id: unique("warm"), tags: ["posts"] } });
  await h.settle();
  endpoint.resetStats();

  const burst = 20;
  const ids = Array.from({ length: burst }, () => unique("burst"));
  const results = await Promise.all(ids.map((id) => h.send({ token, body: { id, tags: ["posts"] } })));
  expect(results.map(({ json }) => json.status)).toEqual(ids.map(() => "revalidated"));
  const before = endpoint.stats();
  await h.settle();
  // Counted in commands, which auto-pipelining cannot merge: before the answers one script per
  // delivery; after them four commands per batch of entries (LPUSH, LTRIM, HINCRBY, EXPIRE, all in
  // one hour). Each delivery's answer comes in its own tick, so without the batch this would be
  // twenty sets of four.
  expect(before.commands).toBe(burst);
  const after = endpoint.stats();
  const batches = (after.commands - before.commands) / 4;
  expect(Number.isInteger(batches)).toBe(true);
  expect(batches).toBeGreaterThanOrEqual(1);
  expect(batches).toBeLessThan(burst / 2);
  expect(after.requests - before.requests).toBe(batches);

  const { recent } = await readActivity(h.redis, { limit: 1000, now: new Date() });
  const ours = recent.filter((entry) => entry.id !== null && ids.includes(entry.id));
  expect(ours.map((entry) => entry.id).sort()).toEqual([...ids].sort());
  expect(ours.every((entry) => entry.outcome === "revalidated" && entry.iss === h.iss)).toBe(true);
  const times = ours.map((entry) => Date.parse(entry.at));
  expect(times).toEqual([...times].sort((a, b) => b - a));
  // Every line was logged, each once its batch was written.
  expect(h.lines.filter((line) => line.revalidationId && ids.includes(line.revalidationId))).toHaveLength(
    burst,
  );
});

test("one request alone is recorded within the linger window, with its outcome and latency", async () => {
  const h = createHarness();
  const id = unique("alone");
  const started = performance.now();
  const { json } = await h.send({ body: { id, tags: ["posts"] } });
  expect(json.status).toBe("revalidated");
  await h.settle();
  // settle() waits for the after-response work, so the entry is in Redis by now; the wait is the
  // linger window plus one round trip, far under a second.
  expect(performance.now() - started).toBeLessThan(ACTIVITY_LINGER_MS + 1000);
  const [entry] = await findActivity(h.redis, id);
  expect(entry).toMatchObject({ id, outcome: "revalidated", status: 200, deduplicated: true });
  expect(entry?.latencyMs).toBeGreaterThanOrEqual(0);
});

test("a write that fails is reported on every line of its batch, and the answers were already sent", async () => {
  const endpoint = await startLocalUpstash({ redisUrl: inject("redisUrl"), port: 0, log: () => {} });
  const h = createHarness({ redisUrl: endpoint.url, redisToken: endpoint.token });
  await h.send({ body: { id: unique("warm"), tags: ["posts"] } });
  await h.settle();
  const token = await h.token();
  const sends = [unique("lost"), unique("lost")].map((id) =>
    h.send({ token, body: { id, tags: ["posts"] } }),
  );
  const answered = await Promise.all(sends);
  expect(answered.map(({ json }) => json.status)).toEqual(["revalidated", "revalidated"]);
  // Redis goes away before the batch is written (it waits ACTIVITY_LINGER_MS).
  await endpoint.close();
  await h.settle();
  const lines = h.lines.slice(-2);
  for (const line of lines) {
    expect(line.notes.join(" ")).toContain("after the response");
    expect(line.level).toBe("warn");
  }
});
