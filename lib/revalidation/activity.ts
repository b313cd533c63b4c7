/**
 * What operators see on /admin/revalidations: every request whose token verified, newest first,
 * with its outcome, and counts by outcome per hour. Storage stays bounded whatever the traffic
 * (10 000 revalidations a day and far more): the list keeps the newest ACTIVITY_LENGTH entries, and
 * the counters are one small hash per hour that expires after a day. Unverified requests are not
 * recorded: anyone can send those, and they would push the real ones out.
 */
import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { hashObject, keys, parseStored } from "../redis";
import type { Outcome, ReceiverLogLine } from "./log";

export const ACTIVITY_LENGTH = 1000;
const HOUR_MS = 60 * 60 * 1000;
/** Counters are kept a little over a day, so "the last 24 hours" always has all its buckets. */
const COUNTER_TTL_SECONDS = 26 * 60 * 60;
export const OUTCOMES: readonly Outcome[] = ["revalidated", "duplicate", "dry-run", "rejected", "failed"];

const entrySchema = z.object({
  at: z.string(),
  requestId: z.string(),
  id: z.string().nullable(),
  iss: z.string(),
  tags: z.array(z.string()),
  outcome: z.enum(["revalidated", "duplicate", "dry-run", "rejected", "failed"]),
  status: z.number(),
  code: z.string().nullable(),
  deduplicated: z.boolean(),
  latencyMs: z.number(),
});
export type ActivityEntry = z.infer<typeof entrySchema>;

const hourOf = (ms: number) => Math.floor(ms / HOUR_MS);

/**
 * Entries of requests answered within this long of each other are written together: a burst of
 * webhooks costs one Redis round trip per window instead of one per request (`npm run bench`,
 * docs/benchmarks.md). The entry reaches /admin/revalidations at most this much later, and a
 * process killed inside the window loses the entries waiting in it (the revalidations themselves
 * are already in Redis: this log is the operators' record, not the delivery's).
 */
export const ACTIVITY_LINGER_MS = 20;
/** A batch this large is written at once, without waiting for the rest of its window. */
export const ACTIVITY_BATCH_MAX = 100;

type Batch = { entries: ActivityEntry[]; written: Promise<void>; writeNow: () => void };

/** The batch filling up now, per client (tests use clients of their own). */
const filling = new WeakMap<Redis, Batch>();

/**
 * Records one verified request: list entry and hourly counter. Resolves once the batch it joined
 * is written (so Next's `after` keeps a serverless function alive until then), and rejects with
 * that write's error: every request in the batch then logs it.
 */
export function recordActivity(redis: Redis, line: ReceiverLogLine, at: Date): Promise<void> {
  if (!line.iss) return Promise.resolve();
  const entry: ActivityEntry = {
    at: at.toISOString(),
    requestId: line.requestId,
    id: line.revalidationId,
    iss: line.iss,
    tags: line.tags,
    outcome: line.outcome,
    status: line.status,
    code: line.code,
    deduplicated: line.deduplicated,
    latencyMs: line.latencyMs,
  };
  let batch = filling.get(redis);
  if (!batch) {
    batch = openBatch(redis);
    filling.set(redis, batch);
  }
  batch.entries.push(entry);
  if (batch.entries.length >= ACTIVITY_BATCH_MAX) batch.writeNow();
  return batch.written;
}

function openBatch(redis: Redis): Batch {
  let start: () => void = () => undefined;
  const due = new Promise<void>((resolve) => {
    start = resolve;
  });
  const timer = setTimeout(() => start(), ACTIVITY_LINGER_MS);
  const batch: Batch = {
    entries: [],
    writeNow: () => {
      clearTimeout(timer);
      start();
    },
    written: due.then(() => {
      if (filling.get(redis) === batch) filling.delete(redis);
      return writeEntries(redis, batch.entries);
    }),
  };
  return batch;
}

/** One pipeline: the entries (newest first once pushed), the cap, and each hour's counts. */
async function writeEntries(redis: Redis, entries: readonly ActivityEntry[]): Promise<void> {
  const list = keys.revalidationLog();
  const counts = new Map<number, Map<Outcome, number>>();
  for (const entry of entries) {
    const hour = hourOf(Date.parse(entry.at));
    const byOutcome = counts.get(hour) ?? new Map<Outcome, number>();
    byOutcome.set(entry.outcome, (byOutcome.get(entry.outcome) ?? 0) + 1);
    counts.set(hour, byOutcome);
  }
  const pipeline = redis.pipeline();
  pipeline.lpush(list, ...entries.map((entry) => JSON.stringify(entry)));
  pipeline.ltrim(list, 0, ACTIVITY_LENGTH - 1);
  for (const [hour, byOutcome] of counts) {
    const counter = keys.revalidationCounts(hour);
    for (const [outcome, count] of byOutcome) pipeline.hincrby(counter, outcome, count);
    pipeline.expire(counter, COUNTER_TTL_SECONDS);
  }
  await pipeline.exec();
}

export type OutcomeCounts = Record<Outcome, number>;

function emptyCounts(): OutcomeCounts {
  return { revalidated: 0, duplicate: 0, "dry-run": 0, rejected: 0, failed: 0 };
}

function addCounts(into: OutcomeCounts, raw: unknown): OutcomeCounts {
  const counts = hashObject(raw);
  for (const outcome of OUTCOMES) into[outcome] += Number(counts[outcome] ?? 0) || 0;
  return into;
}

/** The newest `limit` entries, and counts for the current hour and the last 24 hourly buckets. */
export async function readActivity(
  redis: Redis,
  options: { limit: number; now: Date },
): Promise<{ recent: ActivityEntry[]; lastHour: OutcomeCounts; lastDay: OutcomeCounts }> {
  const hour = hourOf(options.now.getTime());
  const hours = Array.from({ length: 24 }, (_, i) => hour - i);
  const [raws, ...buckets] = await Promise.all([
    redis.lrange<string>(keys.revalidationLog(), 0, Math.min(options.limit, ACTIVITY_LENGTH) - 1),
    ...hours.map((h) => redis.hgetall(keys.revalidationCounts(h))),
  ]);
  const recent = raws
    .map((raw) => parseStored(entrySchema, raw))
    .filter((e): e is ActivityEntry => e !== null);
  return {
    recent,
    lastHour: addCounts(emptyCounts(), buckets[0]),
    lastDay: buckets.reduce<OutcomeCounts>((sum, bucket) => addCounts(sum, bucket), emptyCounts()),
  };
}

/** Every recorded request for revalidation `id`, newest first (any sender: this is the operator's view). */
export async function findActivity(redis: Redis, id: string): Promise<ActivityEntry[]> {
  const raws = await redis.lrange<string>(keys.revalidationLog(), 0, ACTIVITY_LENGTH - 1);
  return raws
    .map((raw) => parseStored(entrySchema, raw))
    .filter((e): e is ActivityEntry => e !== null && e.id === id);
}
