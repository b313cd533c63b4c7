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

/** Records one verified request: list entry and hourly counter, one round trip (auto-pipelined). */
export async function recordActivity(redis: Redis, line: ReceiverLogLine, at: Date): Promise<void> {
  if (!line.iss) return;
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
  const list = keys.revalidationLog();
  const counter = keys.revalidationCounts(hourOf(at.getTime()));
  await Promise.all([
    redis.lpush(list, JSON.stringify(entry)),
    redis.ltrim(list, 0, ACTIVITY_LENGTH - 1),
    redis.hincrby(counter, line.outcome, 1),
    redis.expire(counter, COUNTER_TTL_SECONDS),
  ]);
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
