/**
 * Tag records: what every instance must know about a tag's invalidations, and the rules that turn
 * them into the `{ stale, expired }` values Next.js checks. Pure functions, no I/O; the Lua script
 * in `store.ts` applies `recordInvalidation` inside Redis with the same rules.
 *
 * One record per tag, three times in milliseconds, each only ever raised:
 *   s  stale-at: the latest invalidation of any kind ('max' or immediate)
 *   x  hard-expired-at: the latest immediate invalidation (`updateTag`, `{ expire: 0 }`), never in the future
 *   f  a scheduled hard expiry (`'max'` = now + 1 year), the EARLIEST one pending, 0 when none
 *
 * Unlike Next's in-process manifest, a later `'max'` never softens an earlier immediate expiry:
 * Next overwrites `expired` with now + 1 year, which would turn a pending `updateTag` into
 * stale-while-revalidate. `x` is a high-water mark that nothing lowers.
 */

export type TagRecord = { s: number; x: number; f: number };

/** How a tag was invalidated: `updateTag` (no durations) or `revalidateTag(tag, profile)`. */
export type Durations = { expire?: number } | undefined;

export const EMPTY_RECORD: TagRecord = Object.freeze({ s: 0, x: 0, f: 0 });

/** The record after an invalidation at `now` (ms). Mirrors `PUBLISH` in store.ts. */
export function recordInvalidation(record: TagRecord, now: number, durations: Durations): TagRecord {
  let { s, x, f } = foldDueExpiry(record, now);
  s = Math.max(s, now);
  if (durations === undefined || durations.expire === 0) {
    x = Math.max(x, now);
  } else if (durations.expire !== undefined && durations.expire > 0) {
    const due = now + durations.expire * 1000;
    f = f === 0 ? due : Math.min(f, due);
  }
  return { s, x, f };
}

/** A scheduled expiry whose time has come becomes a hard expiry. */
export function foldDueExpiry(record: TagRecord, now: number): TagRecord {
  if (record.f === 0 || record.f > now) return record;
  return { s: record.s, x: Math.max(record.x, record.f), f: 0 };
}

/** Two views of one tag merged: every field only goes up, except `f`, the earliest pending one. */
export function mergeRecords(a: TagRecord, b: TagRecord, now: number): TagRecord {
  const left = foldDueExpiry(a, now);
  const right = foldDueExpiry(b, now);
  const f = left.f === 0 ? right.f : right.f === 0 ? left.f : Math.min(left.f, right.f);
  return { s: Math.max(left.s, right.s), x: Math.max(left.x, right.x), f };
}

export function sameRecord(a: TagRecord, b: TagRecord): boolean {
  return a.s === b.s && a.x === b.x && a.f === b.f;
}

/** `"s,x,f"`, the form kept in Redis. */
export function encodeRecord(record: TagRecord): string {
  return `${record.s},${record.x},${record.f}`;
}

export function decodeRecord(raw: unknown): TagRecord | null {
  if (typeof raw !== "string") return null;
  const match = /^(\d{1,16}),(\d{1,16}),(\d{1,16})$/.exec(raw);
  if (!match) return null;
  return { s: Number(match[1]), x: Number(match[2]), f: Number(match[3]) };
}

/**
 * What this instance tells Next about a tag: entries and pages timestamped before `stale` are served
 * once more while they regenerate; before `expired` (always in the past) they are regenerated first.
 */
export type Applied = { stale: number; expired: number };

export type LearnContext = {
  /** Local time at which this instance learned of the change (now, for its own invalidations). */
  learnedAt: number;
  /**
   * Added to `stale` for a change made elsewhere, so that a page whose render began before this
   * instance learned of the change, and finished after, is regenerated once more.
   */
  marginMs: number;
  /**
   * Invalidations older than this are already reflected in every page this process could hold (they
   * predate the build's data reads): applied at their own time, with no margin. 0 on a running
   * process, where every change it learns is new to it.
   */
  settledBefore: number;
  /**
   * True for the first sync after start: a change since the build started may be missing from the
   * build's pages or from pages an earlier process wrote to disk, so it is applied as an immediate
   * expiry (regenerated before serving, like a cold cache), never served from before the change.
   */
  catchingUp: boolean;
};

/**
 * The values to apply after learning `next` when this instance knew `known`. Only a field that went
 * up moves its applied value, so re-reading the same record never triggers regeneration again.
 */
export function applyLearned(
  applied: Applied,
  known: TagRecord,
  next: TagRecord,
  context: LearnContext,
): Applied {
  const { learnedAt, marginMs, settledBefore, catchingUp } = context;
  let { stale, expired } = applied;
  if (next.s > known.s) {
    const settled = next.s < settledBefore;
    stale = Math.max(stale, settled ? next.s : Math.max(next.s, learnedAt) + marginMs);
    if (catchingUp && !settled) expired = Math.max(expired, learnedAt);
  }
  if (next.x > known.x) {
    // Another instance's immediate expiry: entries this one made before it knew are not served again.
    expired = Math.max(expired, next.x < settledBefore ? next.x : Math.max(next.x, learnedAt));
  }
  return { stale, expired };
}

/**
 * Next's tags-manifest entry for a tag, given what Next holds now and what this instance applies.
 * `stale` is never lowered. `expired` keeps a past value Next wrote (its own `updateTag` on this
 * instance) but replaces a future one (Next's `'max'`: now + 1 year) with the hard high-water mark,
 * so a later `'max'` cannot soften an earlier immediate expiry. The record's `f` re-arms it when due.
 */
export function manifestEntry(
  current: { stale?: number; expired?: number } | undefined,
  applied: Applied,
  now: number,
): { stale: number; expired?: number } {
  const currentStale = typeof current?.stale === "number" ? current.stale : 0;
  const currentExpired = typeof current?.expired === "number" && current.expired <= now ? current.expired : 0;
  const expired = Math.max(currentExpired, applied.expired);
  const stale = Math.max(currentStale, applied.stale);
  return expired > 0 ? { stale, expired } : { stale };
}
