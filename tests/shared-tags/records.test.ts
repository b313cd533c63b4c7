/**
 * The tag-record rules (lib/shared-tags/records.ts) and the Lua script that applies them inside
 * Redis (store.ts): the same invalidations, applied by both, must give the same records.
 */
import { describe, expect, test } from "vitest";
import { redisEnv } from "../../lib/env";
import { createFailFastRedis } from "../../lib/redis";
import {
  applyLearned,
  type Durations,
  decodeRecord,
  EMPTY_RECORD,
  encodeRecord,
  manifestEntry,
  mergeRecords,
  recordInvalidation,
  type TagRecord,
} from "../../lib/shared-tags/records";
import { createTagStore } from "../../lib/shared-tags/store";

const MAX: Durations = { expire: 365 * 24 * 3600 };
const T = 1_800_000_000_000;

describe("recordInvalidation", () => {
  test("'max' marks stale now and schedules the hard expiry a year on", () => {
    expect(recordInvalidation(EMPTY_RECORD, T, MAX)).toEqual({ s: T, x: 0, f: T + 365 * 24 * 3600 * 1000 });
  });

  test("updateTag (no durations) and { expire: 0 } expire now", () => {
    expect(recordInvalidation(EMPTY_RECORD, T, undefined)).toEqual({ s: T, x: T, f: 0 });
    expect(recordInvalidation(EMPTY_RECORD, T, { expire: 0 })).toEqual({ s: T, x: T, f: 0 });
  });

  test("{} (no expire) is stale only, never expires", () => {
    expect(recordInvalidation(EMPTY_RECORD, T, {})).toEqual({ s: T, x: 0, f: 0 });
  });

  test("a later 'max' never softens an earlier hard expiry", () => {
    const hard = recordInvalidation(EMPTY_RECORD, T, undefined);
    const later = recordInvalidation(hard, T + 10, MAX);
    expect(later.x).toBe(T);
    expect(later.s).toBe(T + 10);
  });

  test("the earliest scheduled expiry is kept, and folded into x once due", () => {
    const short = recordInvalidation(EMPTY_RECORD, T, { expire: 60 });
    const long = recordInvalidation(short, T + 1, MAX);
    expect(long.f).toBe(T + 60_000);
    const due = recordInvalidation(long, T + 61_000, MAX);
    expect(due.x).toBe(T + 60_000);
    expect(due.f).toBe(T + 61_000 + 365 * 24 * 3600 * 1000);
  });

  test("times never go down", () => {
    const r = recordInvalidation(EMPTY_RECORD, T, undefined);
    expect(recordInvalidation(r, T - 5000, MAX)).toMatchObject({ s: T, x: T });
  });
});

test("mergeRecords keeps the highest s and x and the earliest pending f, in any order", () => {
  const a: TagRecord = { s: 5, x: 3, f: 100 };
  const b: TagRecord = { s: 4, x: 4, f: 90 };
  expect(mergeRecords(a, b, 10)).toEqual({ s: 5, x: 4, f: 90 });
  expect(mergeRecords(b, a, 10)).toEqual(mergeRecords(a, b, 10));
  expect(mergeRecords(a, EMPTY_RECORD, 10)).toEqual(a);
});

test("encode/decode round-trip, and garbage reads as null", () => {
  const r = { s: T, x: 0, f: T + 1 };
  expect(decodeRecord(encodeRecord(r))).toEqual(r);
  for (const bad of [null, 42, "", "1,2", "a,b,c", "1,2,3,4", "-1,2,3"]) expect(decodeRecord(bad)).toBeNull();
});

describe("applyLearned", () => {
  const running = { learnedAt: T + 500, marginMs: 2000, settledBefore: 0, catchingUp: false };

  test("another instance's 'max': stale from when this one learned it, plus the margin; nothing expires", () => {
    const next = recordInvalidation(EMPTY_RECORD, T, MAX);
    expect(applyLearned({ stale: 0, expired: 0 }, EMPTY_RECORD, next, running)).toEqual({
      stale: T + 2500,
      expired: 0,
    });
  });

  test("another instance's updateTag: entries made here before it knew are expired", () => {
    const next = recordInvalidation(EMPTY_RECORD, T, undefined);
    expect(applyLearned({ stale: 0, expired: 0 }, EMPTY_RECORD, next, running).expired).toBe(T + 500);
  });

  test("re-reading the same record changes nothing", () => {
    const next = recordInvalidation(EMPTY_RECORD, T, MAX);
    const applied = applyLearned({ stale: 0, expired: 0 }, EMPTY_RECORD, next, running);
    expect(applyLearned(applied, next, next, { ...running, learnedAt: T + 9000 })).toEqual(applied);
  });

  test("first sync after start: a change since the build started is regenerated before serving", () => {
    const next = recordInvalidation(EMPTY_RECORD, T, MAX);
    const boot = { learnedAt: T + 60_000, marginMs: 2000, settledBefore: T - 1000, catchingUp: true };
    expect(applyLearned({ stale: 0, expired: 0 }, EMPTY_RECORD, next, boot)).toEqual({
      stale: T + 62_000,
      expired: T + 60_000,
    });
  });

  test("first sync after start: a change from before the build is applied at its own time only", () => {
    const next = recordInvalidation(EMPTY_RECORD, T, MAX);
    const boot = { learnedAt: T + 60_000, marginMs: 2000, settledBefore: T + 1000, catchingUp: true };
    expect(applyLearned({ stale: 0, expired: 0 }, EMPTY_RECORD, next, boot)).toEqual({
      stale: T,
      expired: 0,
    });
  });
});

describe("manifestEntry", () => {
  test("replaces Next's future expiry (its 'max') with the hard high-water mark, never lowers stale", () => {
    expect(
      manifestEntry({ stale: T + 10, expired: T + 10 + 3.15e10 }, { stale: T, expired: T - 5 }, T + 20),
    ).toEqual({ stale: T + 10, expired: T - 5 });
  });

  test("keeps a past expiry Next wrote (its own updateTag here)", () => {
    expect(manifestEntry({ expired: T }, { stale: T - 100, expired: T - 50 }, T + 1)).toEqual({
      stale: T - 100,
      expired: T,
    });
  });

  test("no expiry at all stays absent", () => {
    expect(manifestEntry(undefined, { stale: T, expired: 0 }, T)).toEqual({ stale: T });
  });
});

test("the Lua script in Redis applies the same rules as recordInvalidation", async () => {
  const store = createTagStore(createFailFastRedis(redisEnv(), 5000));
  const tag = `parity:${crypto.randomUUID()}`;
  const steps: [number, Durations][] = [
    [T, MAX],
    [T + 10, undefined],
    [T + 20, MAX],
    [T + 30, { expire: 60 }],
    [T + 25, {}],
    [T + 90_000, { expire: 0 }],
    [T + 100_000, MAX],
  ];
  let expected: TagRecord = EMPTY_RECORD;
  const { version: before } = await store.changesSince(0);
  for (const [at, durations] of steps) {
    expected = recordInvalidation(expected, at, durations);
    await store.publish([tag], at, durations);
  }
  const { version, records } = await store.changesSince(before);
  expect(version).toBeGreaterThanOrEqual(before + steps.length);
  expect(records.get(tag)).toEqual(expected);
});
