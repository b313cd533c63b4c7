/**
 * Several processes' shared tag state over one real Redis (through the local Upstash endpoint):
 * each `SharedTagState` here is what one `next start` instance runs, with a plain Map in place of
 * Next's manifest (next-manifest.test.ts checks the real one reads our values as intended).
 */
import { afterEach, describe, expect, inject, test, vi } from "vitest";
import { redisEnv } from "../../lib/env";
import { createFailFastRedis, createStreamingRedis } from "../../lib/redis";
import { nextTagChecks, nextTagsManifest } from "../../lib/shared-tags/next-manifest";
import type { Durations } from "../../lib/shared-tags/records";
import { createAnnouncements, createTagStore } from "../../lib/shared-tags/store";
import { SharedTagState, type SharedTagsLogLine, type SharedTagsOptions } from "../../lib/shared-tags/sync";
import { startLocalUpstash } from "../../scripts/upstash-local/server";
import { outageEndpoint } from "../setup/outage";

const MAX: Durations = { expire: 365 * 24 * 3600 };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** One instance's shared state, as `next start` runs it, with what a test needs to vary. */
function instance(
  options: Partial<
    Pick<SharedTagsOptions, "store" | "announcements" | "manifest" | "intervalMs" | "remarkAfterMs">
  > & {
    url?: string;
    token?: string;
    buildStartedAt?: number;
    callTimeoutMs?: number;
  } = {},
) {
  const env = redisEnv();
  const manifest = options.manifest ?? new Map();
  const logs: SharedTagsLogLine[] = [];
  const state = new SharedTagState({
    store:
      options.store ??
      createTagStore(
        createFailFastRedis({ url: options.url ?? env.url, token: options.token ?? env.token }, 2000),
      ),
    announcements: options.announcements,
    manifest,
    intervalMs: options.intervalMs ?? 50,
    callTimeoutMs: options.callTimeoutMs ?? 3000,
    marginMs: 2000,
    remarkAfterMs: options.remarkAfterMs,
    buildStartedAt: options.buildStartedAt,
    skewMs: 0,
    now: Date.now,
    log: (line) => logs.push(line),
  });
  cleanups.push(() => state.stop());
  return { state, manifest, logs };
}

const tag = (name: string) => `${name}:${crypto.randomUUID()}`;

test("an invalidation on one instance reaches another at its next sync, with 'max' semantics", async () => {
  const a = instance();
  const b = instance();
  await a.state.sync();
  await b.state.sync();
  const t = tag("post");
  const before = Date.now();
  expect(await a.state.invalidate([t], MAX)).toBe(true);
  expect(a.manifest.get(t)?.stale).toBeGreaterThanOrEqual(before);
  expect(b.manifest.get(t)).toBeUndefined();

  await b.state.sync();
  const entry = b.manifest.get(t);
  // Stale for anything made before B learned of it (and a margin after), never hard-expired.
  expect(entry?.stale).toBeGreaterThan(Date.now());
  expect(entry?.expired).toBeUndefined();
});

test("updateTag on one instance hard-expires what another made before it knew", async () => {
  const a = instance();
  const b = instance();
  await b.state.sync();
  const t = tag("comments");
  const madeOnB = Date.now();
  await a.state.invalidate([t], undefined);
  await b.state.sync();
  const expired = b.manifest.get(t)?.expired ?? 0;
  expect(expired).toBeGreaterThan(madeOnB);
  expect(expired).toBeLessThanOrEqual(Date.now());
});

test("a later 'max' elsewhere does not soften an earlier updateTag", async () => {
  const a = instance();
  const b = instance();
  await b.state.sync();
  const t = tag("post");
  await a.state.invalidate([t], undefined);
  await b.state.sync();
  const hard = b.manifest.get(t)?.expired;
  // What Next itself writes on the instance that receives the 'max': expired a year on.
  b.manifest.set(t, { stale: Date.now(), expired: Date.now() + 3.15e10 });
  await a.state.invalidate([t], MAX);
  await b.state.sync();
  expect(b.manifest.get(t)?.expired).toBe(hard);
});

test("the running timer keeps syncing without anyone asking", async () => {
  const a = instance();
  const b = instance();
  await b.state.sync();
  b.state.start();
  const t = tag("post");
  await a.state.invalidate([t], MAX);
  const deadline = Date.now() + 3000;
  while (!b.manifest.has(t) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(b.manifest.has(t)).toBe(true);
});

describe("starting up", () => {
  test("a change since the build started is regenerated before serving; an older one is not", async () => {
    const writer = instance();
    const old = tag("post");
    await writer.state.invalidate([old], MAX);
    const buildStartedAt = Date.now() + 5;
    await new Promise((r) => setTimeout(r, 10));
    const recent = tag("post");
    await writer.state.invalidate([recent], MAX);

    const booted = instance({ buildStartedAt });
    const bootAt = Date.now();
    await booted.state.sync();
    // Pages the build made may predate `recent`: they are not served again.
    expect(booted.manifest.get(recent)?.expired).toBeGreaterThanOrEqual(bootAt);
    // `old` predates the build's data: only entries older than it are stale, and none expire.
    const oldEntry = booted.manifest.get(old);
    expect(oldEntry?.expired).toBeUndefined();
    expect(oldEntry?.stale).toBeLessThan(buildStartedAt);
  });

  test("an unknown build start treats every change as possibly missing from the build", async () => {
    const writer = instance();
    const t = tag("post");
    await writer.state.invalidate([t], MAX);
    const booted = instance({ buildStartedAt: undefined });
    await booted.state.sync();
    expect(booted.manifest.get(t)?.expired).toBeGreaterThan(0);
  });
});

describe("Redis down", () => {
  test("an invalidation is applied here at once, queued, and published when Redis is back", async () => {
    const endpoint = await outageEndpoint();
    cleanups.push(() => endpoint.close());
    const a = instance({ url: endpoint.url, token: endpoint.token, callTimeoutMs: 500 });
    const b = instance();
    await a.state.sync();
    await b.state.sync();
    await endpoint.stop();

    const t = tag("post");
    expect(await a.state.invalidate([t], MAX)).toBe(false);
    expect(a.manifest.get(t)?.stale).toBeGreaterThan(0);
    expect(a.state.status().queued).toBe(1);
    await expect(a.state.sync()).rejects.toThrow();
    expect(a.logs.some((line) => line.event === "redis-unavailable")).toBe(true);

    await endpoint.start();
    await a.state.sync();
    expect(a.state.status().queued).toBe(0);
    expect(a.logs.some((line) => line.event === "recovered")).toBe(true);
    await b.state.sync();
    expect(b.manifest.get(t)?.stale).toBeGreaterThan(0);
  });

  test("a sync against an endpoint that never answers gives up at its deadline", async () => {
    const a = instance({ url: "http://127.0.0.1:9", token: "x", callTimeoutMs: 300 });
    const started = performance.now();
    await expect(a.state.sync()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(2500);
  });
});

describe("Next's own checks read the injected values as intended (the real tags manifest)", () => {
  test("'max' → stale, not expired; updateTag → expired; a later 'max' keeps it expired", async () => {
    const manifest = nextTagsManifest({ loadIfAbsent: true });
    const { areTagsStale, areTagsExpired } = nextTagChecks();
    const a = instance();
    const b = instance({ manifest });
    await b.state.sync();
    const soft = tag("post");
    const hard = tag("comments");
    const entryMadeAt = Date.now() - 1;
    await a.state.invalidate([soft], MAX);
    await a.state.invalidate([hard], undefined);
    await b.state.sync();
    expect(areTagsStale([soft], entryMadeAt)).toBe(true);
    expect(areTagsExpired([soft], entryMadeAt)).toBe(false);
    expect(areTagsExpired([hard], entryMadeAt)).toBe(true);
    // An entry made after B learned of it (and after the margin) is fresh again.
    expect(areTagsStale([soft], Date.now() + 5000)).toBe(false);

    // Next, on receiving a later 'max' here, writes expired = now + 1 year; the injection undoes that.
    manifest.set(hard, { stale: Date.now(), expired: Date.now() + 3.15e10 });
    await b.state.invalidate([hard], MAX);
    expect(areTagsExpired([hard], entryMadeAt)).toBe(true);
  });
});

describe("announcements (pub/sub)", () => {
  function announced(options: { url?: string; token?: string } = {}) {
    const env = redisEnv();
    const redis = createStreamingRedis({ url: options.url ?? env.url, token: options.token ?? env.token });
    return createAnnouncements(redis);
  }

  test("an instance learns a change at once, long before its timer would", async () => {
    const a = instance();
    const { state: b, manifest } = instance({ announcements: announced(), intervalMs: 60_000 });
    await b.sync();
    b.start();
    // Give the stream a moment to open: announcements sent before it are only caught by the timer.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const t = tag("post");
    const sent = Date.now();
    await a.state.invalidate([t], MAX);
    while (!manifest.has(t) && Date.now() - sent < 3000) await new Promise((r) => setTimeout(r, 5));
    expect(manifest.has(t)).toBe(true);
    expect(Date.now() - sent).toBeLessThan(1000);
  });
});

describe("the announcement stream ending", () => {
  test("a stream the server closes is reported to the subscriber as an error, and nothing is printed to the console", async () => {
    const endpoint = await startLocalUpstash({ redisUrl: inject("redisUrl"), port: 0, log: () => {} });
    let closed = false;
    cleanups.push(() => (closed ? undefined : endpoint.close()));
    const printed: unknown[] = [];
    for (const method of ["error", "warn", "log"] as const) {
      const spy = vi.spyOn(console, method).mockImplementation((...args) => printed.push(args));
      cleanups.push(() => spy.mockRestore());
    }
    const versions: number[] = [];
    const errors: unknown[] = [];
    const subscribe = createAnnouncements(createStreamingRedis({ url: endpoint.url, token: endpoint.token }));
    const stop = subscribe({ onVersion: (v) => versions.push(v), onError: (e) => errors.push(e) });
    cleanups.push(stop);
    // The stream is open once an announcement gets through it.
    const publisher = createTagStore(createFailFastRedis({ url: endpoint.url, token: endpoint.token }));
    const deadline = Date.now() + 5000;
    while (versions.length === 0 && Date.now() < deadline) {
      await publisher.publish([tag("stream")], Date.now(), MAX);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(versions.length).toBeGreaterThan(0);
    expect(errors).toHaveLength(0);

    await endpoint.close();
    closed = true;
    while (errors.length === 0 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).not.toContain("    at ");
    expect(printed).toEqual([]);
  });

  test("stopping the subscription is not reported as an error", async () => {
    const errors: unknown[] = [];
    const stop = createAnnouncements(createStreamingRedis(redisEnv()))({
      onVersion: () => undefined,
      onError: (e) => errors.push(e),
    });
    await new Promise((r) => setTimeout(r, 200));
    stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(errors).toEqual([]);
  });
});

describe("no work twice", () => {
  /** The real store, counting its calls. */
  function counted(env: { url: string; token: string } = redisEnv()) {
    const store = createTagStore(createFailFastRedis(env, 2000));
    const calls = { publish: 0, changes: 0 };
    return {
      calls,
      store: {
        publish: (...args: Parameters<typeof store.publish>) => {
          calls.publish += 1;
          return store.publish(...args);
        },
        changesSince: (since: number) => {
          calls.changes += 1;
          return store.changesSince(since);
        },
      },
    };
  }

  const withStore = (
    store: ReturnType<typeof counted>["store"],
    announcements?: ReturnType<typeof createAnnouncements>,
  ) => instance({ store, announcements, intervalMs: 60_000 }).state;

  test("the webhook's publish is not published again when Next's own updateTags echoes it; a real repeat is", async () => {
    const { calls, store } = counted();
    const state = withStore(store);
    const t = tag("post");
    await state.invalidate([t, "posts-echo"], MAX, { echoExpected: true });
    await state.invalidate(["posts-echo", t], MAX); // Next's echo, tags in another order
    expect(calls.publish).toBe(1);
    await state.invalidate([t, "posts-echo"], MAX); // a second real change
    expect(calls.publish).toBe(2);
    await state.invalidate([t, "posts-echo"], undefined); // another kind of change is never an echo
    expect(calls.publish).toBe(3);
  });

  test("a publish made by the caller's own script is applied here and not published again on Next's echo; a direct call never stands in for an echo", async () => {
    const { calls, store } = counted();
    const { state, manifest } = instance({ store, intervalMs: 60_000 });
    const t = tag("post");
    const before = Date.now();
    // The webhook receiver's one round trip: its script publishes (here: the store's own publish).
    const version = await state.publishThrough(
      [t],
      MAX,
      (at) => store.publish([t], at, MAX),
      (v) => v,
    );
    expect(version).toBeGreaterThan(0);
    expect(calls.publish).toBe(1);
    expect(manifest.get(t)?.stale).toBeGreaterThanOrEqual(before);
    expect(state.status().queued).toBe(0);
    // The receiver's fallback (its round trip failed) while the echo above is still pending: published.
    await state.invalidate([t], MAX, { echoExpected: true });
    expect(calls.publish).toBe(2);
    await state.invalidate([t], MAX); // Next's echo of the first: applied, not published
    await state.invalidate([t], MAX); // Next's echo of the second
    expect(calls.publish).toBe(2);
    // A script that did not publish (a limited or duplicate delivery) changes nothing here.
    const other = tag("post");
    await state.publishThrough(
      [other],
      MAX,
      async () => 0,
      () => undefined,
    );
    expect(calls.publish).toBe(2);
    expect(manifest.get(other)).toBeUndefined();
  });

  test("announcements of this process's own publishes cost no sync", async () => {
    // A redis-server of its own: other test files publish on the shared one at any moment.
    const endpoint = await startLocalUpstash({ port: 0, log: () => {} });
    cleanups.push(() => endpoint.close());
    const env = { url: endpoint.url, token: endpoint.token };
    const { calls, store } = counted(env);
    const state = withStore(store, createAnnouncements(createStreamingRedis(env)));
    await state.sync();
    state.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = calls.changes;
    await state.invalidate([tag("post")], MAX);
    await state.invalidate([tag("post")], MAX);
    // Long enough for both announcements to arrive (they do within milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls.changes).toBe(before);
    // Another instance's change still syncs at once.
    await instance({ url: endpoint.url, token: endpoint.token }).state.invalidate([tag("post")], MAX);
    const deadline = Date.now() + 2000;
    while (calls.changes === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(calls.changes).toBeGreaterThan(before);
  });
});

test("a change made here is marked again a moment later, so a render that raced it is not kept", async () => {
  // Next's own manifest and checks, as the page-level cache uses them.
  const manifest = nextTagsManifest({ loadIfAbsent: true });
  const { areTagsExpired, areTagsStale } = nextTagChecks();
  const { state } = instance({ manifest, remarkAfterMs: 200, intervalMs: 60_000 });
  const hard = tag("comments");
  const soft = tag("post");
  const at = Date.now();
  await state.invalidate([hard], undefined);
  await state.invalidate([soft], MAX);
  // A page a render finished storing just after the change looks newer than it...
  const raced = Date.now() + 1;
  expect(areTagsExpired([hard], raced)).toBe(false);
  expect(areTagsStale([soft], raced)).toBe(false);
  // ...until the tags are marked again: then it is expired (updateTag) or stale ('max').
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(manifest.get(hard)?.expired).toBeGreaterThanOrEqual(at + 200);
  expect(areTagsExpired([hard], raced)).toBe(true);
  expect(manifest.get(soft)?.stale).toBeGreaterThanOrEqual(at + 200);
  expect(areTagsStale([soft], raced)).toBe(true);
  expect(areTagsExpired([soft], raced)).toBe(false);
});

test("a stream that cannot open is logged as such, once, and is not taken for a Redis outage", async () => {
  // Nothing listens on port 9 here: the stream fails to open; the store itself is fine.
  const { state, logs } = instance({
    announcements: createAnnouncements(createStreamingRedis({ url: "http://127.0.0.1:9", token: "x" })),
    intervalMs: 60_000,
  });
  await state.sync();
  state.start();
  const deadline = Date.now() + 3000;
  while (!logs.some((l) => l.event === "announcements-unavailable") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(logs.filter((l) => l.event === "announcements-unavailable")).toHaveLength(1);
  expect(logs.some((l) => l.event === "redis-unavailable")).toBe(false);
  expect(state.status().failingSince).toBeNull();
  await state.sync();
  expect(logs.some((l) => l.event === "recovered")).toBe(false);
});
