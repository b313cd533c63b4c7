/**
 * Steps 5 and 7: de-duplication by revalidation ID.
 *
 * A claim is a small hash, `state` = `processing` under a lease, then `done` for `idTtlSeconds`.
 * The lease is why a crash between claim and "done" cannot block an ID forever: the key simply
 * expires and the sender's retry claims it again. Claiming reads and writes in one Lua script, so
 * two concurrent deliveries can never both see "absent", and it costs one round trip.
 */
import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { keys } from "../redis";

/** Long enough for any revalidation (they are in-memory), short enough that a retry after a crash is soon served. */
export const DEFAULT_LEASE_MS = 30_000;
export const RECENT_LOG_LENGTH = 100;

/** IDs are namespaced by `iss`, so two senders' "post-42" never collide. Neither part can contain "|" unescaped. */
export function namespacedId(iss: string | undefined, id: string): string {
  return `${encodeURIComponent(iss ?? "")}|${id}`;
}

const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'state', 'processing', 'owner', ARGV[1], 'firstSeenAt', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'claimed', ARGV[2], 0}
end
local firstSeenAt = redis.call('HGET', KEYS[1], 'firstSeenAt') or ''
if state == 'done' then return {'done', firstSeenAt, 0} end
return {'processing', firstSeenAt, redis.call('PTTL', KEYS[1])}
`;

// Only the owner's own claim is released: after a lease ran out, another delivery may hold the ID.
const RELEASE = `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and redis.call('HGET', KEYS[1], 'state') == 'processing' then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

// Unconditional: the tags were revalidated, so "done" is true whoever holds the lease now.
const MARK_DONE = `
redis.call('HSET', KEYS[1], 'state', 'done', 'doneAt', ARGV[2])
redis.call('HSETNX', KEYS[1], 'firstSeenAt', ARGV[1])
redis.call('HDEL', KEYS[1], 'owner')
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`;

const claimReply = z.tuple([z.enum(["claimed", "done", "processing"]), z.string(), z.coerce.number()]);

export type ClaimResult =
  | { state: "claimed" }
  | { state: "duplicate"; firstSeenAt: string }
  | { state: "in_progress"; retryAfterSeconds: number };

/**
 * Claims `namespacedId` for `owner` (one request): absent → claimed under a `leaseMs` lease,
 * done → duplicate, processing → in progress, with the seconds left on the lease.
 */
export async function claimRevalidationId(
  redis: Redis,
  id: string,
  claim: { owner: string; now: Date; leaseMs: number },
): Promise<ClaimResult> {
  const reply = claimReply.parse(
    await redis.eval(CLAIM, [keys.revalidationId(id)], [claim.owner, claim.now.toISOString(), claim.leaseMs]),
  );
  const [state, firstSeenAt, pttl] = reply;
  if (state === "claimed") return { state: "claimed" };
  if (state === "done") return { state: "duplicate", firstSeenAt };
  return { state: "in_progress", retryAfterSeconds: Math.max(1, Math.ceil(pttl / 1000)) };
}

export async function releaseRevalidationId(redis: Redis, id: string, owner: string): Promise<void> {
  await redis.eval(RELEASE, [keys.revalidationId(id)], [owner]);
}

export async function markRevalidationDone(
  redis: Redis,
  id: string,
  done: { firstSeenAt: Date; doneAt: Date; ttlSeconds: number },
): Promise<void> {
  await redis.eval(
    MARK_DONE,
    [keys.revalidationId(id)],
    [done.firstSeenAt.toISOString(), done.doneAt.toISOString(), done.ttlSeconds],
  );
}

export type RecentRevalidation = {
  at: string;
  requestId: string;
  id: string | null;
  iss: string | null;
  tags: string[];
  outcome: string;
};

/** Appends to the capped recent-revalidations list (newest first), for operators to look at. */
export async function appendRecentRevalidation(redis: Redis, entry: RecentRevalidation): Promise<void> {
  const key = keys.revalidationLog();
  // Issued in the same tick, so auto-pipelining sends both in one HTTP request.
  await Promise.all([redis.lpush(key, JSON.stringify(entry)), redis.ltrim(key, 0, RECENT_LOG_LENGTH - 1)]);
}
