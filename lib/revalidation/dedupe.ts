/**
 * Steps 5 and 7: de-duplication by revalidation ID. (The recent-revalidations log operators read
 * is activity.ts; nothing here knows of it.)
 *
 * A claim is a small hash, `state` = `processing` under a lease, then `done` (or `failed`, with why)
 * for `idTtlSeconds`. A `failed` ID is claimed again by the sender's retry.
 * The lease is why a crash between claim and "done" cannot block an ID forever: the key simply
 * expires and the sender's retry claims it again. Claiming reads and writes in one Lua script, so
 * two concurrent deliveries can never both see "absent", and it costs one round trip.
 *
 * An ID is bound to what it revalidates. Its namespace is the sender (`iss`) and a digest of the
 * token's scope, so a narrowly scoped token can never claim an ID first and turn a broader token's
 * delivery into a "duplicate" no-op. The claim also remembers a digest of its sorted tags: the same
 * ID with other tags is a 409 `id_conflict` that says what differs, never a duplicate.
 */
import { createHash } from "node:crypto";
import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { hashObject, keys } from "../redis";

/** Long enough for any revalidation (they are in-memory), short enough that a retry after a crash is soon served. */
export const DEFAULT_LEASE_MS = 30_000;

/**
 * The key an ID is claimed under: sender, scope digest, ID. Neither `iss` (encoded) nor the digest
 * (hex) can contain "|". No scope and `["*"]` are the same authority, so they share a namespace.
 */
export function namespacedId(token: { iss: string; scope: string[] | undefined }, id: string): string {
  const scope = [...new Set(token.scope ?? ["*"])].sort();
  return `${encodeURIComponent(token.iss)}|${scope.length === 1 && scope[0] === "*" ? "*" : digestOf(scope)}|${id}`;
}

/** A short digest of a set of strings (tags, scope patterns), independent of order and repeats. */
export function digestOf(values: readonly string[]): string {
  const sorted = [...new Set(values)].sort();
  return createHash("sha256").update(sorted.join("\n")).digest("base64url").slice(0, 22);
}

/**
 * Lua: the claim as a function, so that the receiver's one round trip (delivery.ts) can run it
 * between the sender's limit and the shared publish. Returns {state, firstSeenAt, pttl, firstTags}.
 */
export const CLAIM_LUA = `
local function claim_id(key, owner, now, lease, digest, tags)
  local state = redis.call('HGET', key, 'state')
  if not state or state == 'failed' then
    redis.call('DEL', key)
    redis.call('HSET', key, 'state', 'processing', 'owner', owner, 'firstSeenAt', now, 'tagsDigest', digest, 'tags', tags)
    redis.call('PEXPIRE', key, lease)
    return {'claimed', now, 0, ''}
  end
  local firstSeenAt = redis.call('HGET', key, 'firstSeenAt') or ''
  local known = redis.call('HGET', key, 'tagsDigest')
  if known and known ~= digest then
    return {'conflict', firstSeenAt, 0, redis.call('HGET', key, 'tags') or '[]'}
  end
  if state == 'done' then return {'done', firstSeenAt, 0, ''} end
  return {'processing', firstSeenAt, redis.call('PTTL', key), ''}
end
`;

const CLAIM = `${CLAIM_LUA}
return claim_id(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`;

// Only the owner's own claim is marked: after a lease ran out, another delivery may hold the ID.
// A failed ID stays visible (GET /api/revalidate/<id>) and the sender's retry claims it again.
// `done` is the owner's too when its own script recorded it (`mark_done` with the owner kept) and
// Next's `revalidateTag` then threw on this instance.
const MARK_FAILED = `
local state = redis.call('HGET', KEYS[1], 'state')
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and (state == 'processing' or state == 'done') then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'failedAt', ARGV[2], 'reason', ARGV[3])
  redis.call('HDEL', KEYS[1], 'owner')
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 1
end
return 0
`;

/**
 * Lua: marks an ID done, unconditionally: the tags were revalidated, so "done" is true whoever holds
 * the lease now. `keep_owner` ('1') leaves the owner on it, so that the owner can still mark it
 * failed: the receiver's own script (delivery.ts) records done in the same round trip as the shared
 * publish, before Next's `revalidateTag` has run on this instance.
 */
export const MARK_DONE_LUA = `
local function mark_done(key, first_seen_at, done_at, ttl, digest, tags, keep_owner)
  redis.call('HSET', key, 'state', 'done', 'doneAt', done_at)
  redis.call('HSETNX', key, 'firstSeenAt', first_seen_at)
  redis.call('HSETNX', key, 'tagsDigest', digest)
  redis.call('HSETNX', key, 'tags', tags)
  if keep_owner ~= '1' then redis.call('HDEL', key, 'owner') end
  redis.call('EXPIRE', key, ttl)
end
`;

const MARK_DONE = `${MARK_DONE_LUA}
mark_done(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], '0')
return 1
`;

/** `claim_id`'s reply. */
export const claimReply = z.tuple([
  z.enum(["claimed", "done", "processing", "conflict"]),
  z.string(),
  z.coerce.number(),
  z.string(),
]);

export type ClaimResult =
  | { state: "claimed" }
  | { state: "conflict"; firstSeenAt: string; firstTags: string[] }
  | { state: "duplicate"; firstSeenAt: string }
  | { state: "in_progress"; retryAfterSeconds: number };

/** The arguments `claim_id` takes after its key, in order. */
export function claimArguments(claim: {
  owner: string;
  now: Date;
  leaseMs: number;
  tags: readonly string[];
}): (string | number)[] {
  return [claim.owner, claim.now.toISOString(), claim.leaseMs, digestOf(claim.tags), storedTags(claim.tags)];
}

/** What `claim_id` answered, as the receiver acts on it. */
export function claimResult(reply: z.output<typeof claimReply>): ClaimResult {
  const [state, firstSeenAt, pttl, firstTags] = reply;
  if (state === "claimed") return { state: "claimed" };
  if (state === "conflict") return { state: "conflict", firstSeenAt, firstTags: parseStoredTags(firstTags) };
  if (state === "done") return { state: "duplicate", firstSeenAt };
  return { state: "in_progress", retryAfterSeconds: Math.max(1, Math.ceil(pttl / 1000)) };
}

/**
 * Claims `namespacedId` for `owner` (one request): absent → claimed under a `leaseMs` lease,
 * other tags than the first claim's → conflict, done → duplicate, processing → in progress, with
 * the seconds left on the lease.
 */
export async function claimRevalidationId(
  redis: Redis,
  id: string,
  claim: { owner: string; now: Date; leaseMs: number; tags: readonly string[] },
): Promise<ClaimResult> {
  return claimResult(
    claimReply.parse(await redis.eval(CLAIM, [keys.revalidationId(id)], claimArguments(claim))),
  );
}

function storedTags(tags: readonly string[]): string {
  return JSON.stringify([...new Set(tags)].sort());
}

function parseStoredTags(raw: string): string[] {
  try {
    const parsed = z.array(z.string()).safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

/** Records that the owner's revalidation failed, and why (no body, no token: a short reason). */
export async function markRevalidationFailed(
  redis: Redis,
  id: string,
  failed: { owner: string; at: Date; reason: string; ttlSeconds: number },
): Promise<void> {
  await redis.eval(
    MARK_FAILED,
    [keys.revalidationId(id)],
    [failed.owner, failed.at.toISOString(), failed.reason.slice(0, 300), failed.ttlSeconds],
  );
}

const statusHash = z.object({
  state: z.enum(["processing", "done", "failed"]),
  firstSeenAt: z.string().optional(),
  doneAt: z.string().optional(),
  failedAt: z.string().optional(),
  reason: z.string().optional(),
  tags: z.string().optional(),
});

export type RevalidationStatus =
  | { state: "processing"; firstSeenAt: string | null; leaseEndsAt: string | null; tags: string[] }
  | { state: "done"; firstSeenAt: string | null; doneAt: string | null; tags: string[] }
  | { state: "failed"; firstSeenAt: string | null; failedAt: string | null; reason: string; tags: string[] };

/** What is known of a claimed ID (in one namespace), or null when nothing is. One round trip. */
export async function readRevalidationStatus(
  redis: Redis,
  id: string,
  now: Date,
): Promise<RevalidationStatus | null> {
  const key = keys.revalidationId(id);
  const [fields, pttl] = await Promise.all([redis.hgetall(key), redis.pttl(key)]);
  const parsed = statusHash.safeParse(hashObject(fields));
  if (!parsed.success) return null;
  const { state, firstSeenAt = null, doneAt = null, failedAt = null, reason = "", tags = "[]" } = parsed.data;
  const tagList = parseStoredTags(tags);
  if (state === "processing") {
    const leaseEndsAt = pttl > 0 ? new Date(now.getTime() + pttl).toISOString() : null;
    return { state, firstSeenAt, leaseEndsAt, tags: tagList };
  }
  if (state === "done") return { state, firstSeenAt, doneAt, tags: tagList };
  return { state, firstSeenAt, failedAt, reason, tags: tagList };
}

export async function markRevalidationDone(
  redis: Redis,
  id: string,
  done: { firstSeenAt: Date; doneAt: Date; ttlSeconds: number; tags: readonly string[] },
): Promise<void> {
  await redis.eval(
    MARK_DONE,
    [keys.revalidationId(id)],
    [
      done.firstSeenAt.toISOString(),
      done.doneAt.toISOString(),
      done.ttlSeconds,
      digestOf(done.tags),
      storedTags(done.tags),
    ],
  );
}

/** "adds post:a; leaves out posts": how `tags` differ from the ID's first claim, for a 409. */
export function describeTagDifference(firstTags: readonly string[], tags: readonly string[]): string {
  const list = (values: string[]) =>
    `${values
      .slice(0, 5)
      .map((v) => JSON.stringify(v))
      .join(", ")}${values.length > 5 ? ` and ${values.length - 5} more` : ""}`;
  const added = [...new Set(tags)].filter((tag) => !firstTags.includes(tag));
  const missing = firstTags.filter((tag) => !tags.includes(tag));
  const parts = [
    ...(added.length > 0 ? [`adds ${list(added)}`] : []),
    ...(missing.length > 0 ? [`leaves out ${list(missing)}`] : []),
  ];
  return parts.length > 0 ? parts.join(" and ") : "lists other tags";
}
