/**
 * The shared tag state in Upstash Redis: one hash of tag records, a version counter and a change
 * log, written and read by two Lua scripts so that each operation is one atomic round trip.
 *
 *   cache:tags          HASH   tag → "s,x,f" (see records.ts)
 *   cache:tags:version  STRING incremented by every publish
 *   cache:tags:changes  ZSET   tag scored by the version that last changed it
 *   cache:tags:changed  pub/sub channel: each publish announces its version (a hint to sync now;
 *                       the version key stays the truth, so a missed message only delays)
 *
 * None of these keys has a TTL and none is namespaced by build: an invalidation must outlive every
 * page and entry it invalidated, in every build. Keep the database's eviction policy at
 * `noeviction` (Upstash's default): an evicted record would make old pages fresh again.
 */
import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { keys } from "../redis";
import { type Durations, decodeRecord, type TagRecord } from "./records";

/**
 * Lua: applies one invalidation to every tag in `tags`, with the same rules as `recordInvalidation`
 * in records.ts (a test runs both on the same inputs), bumps the version, logs the change and
 * announces it. `mode` is "hard", "stale" or the seconds after which a stale tag expires. `%.0f`
 * keeps millisecond integers exact in Lua's doubles. A function, so that a caller's own script can
 * publish in the same round trip as its other work (the webhook receiver, lib/revalidation/delivery.ts).
 */
export const PUBLISH_LUA = `
local function publish_tags(state_key, version_key, changes_key, channel, now, mode, tags)
  local version = redis.call('INCR', version_key)
  for _, tag in ipairs(tags) do
    local s, x, f = 0, 0, 0
    local raw = redis.call('HGET', state_key, tag)
    if raw then
      local a, b, c = string.match(raw, '^(%d+),(%d+),(%d+)$')
      if a then s, x, f = tonumber(a), tonumber(b), tonumber(c) end
    end
    if f > 0 and f <= now then
      if f > x then x = f end
      f = 0
    end
    if now > s then s = now end
    if mode == 'hard' then
      if now > x then x = now end
    elseif mode ~= 'stale' then
      local due = now + tonumber(mode) * 1000
      if f == 0 or due < f then f = due end
    end
    redis.call('HSET', state_key, tag, string.format('%.0f,%.0f,%.0f', s, x, f))
    redis.call('ZADD', changes_key, version, tag)
  end
  redis.call('PUBLISH', channel, version)
  return version
end
`;

/** KEYS: the four keys of `PUBLISH_KEYS`; ARGV: now (ms), mode, then the tags. */
const PUBLISH = `${PUBLISH_LUA}
local tags = {}
for i = 3, #ARGV do tags[#tags + 1] = ARGV[i] end
return publish_tags(KEYS[1], KEYS[2], KEYS[3], KEYS[4], tonumber(ARGV[1]), ARGV[2], tags)
`;

/** The keys `publish_tags` writes, in its argument order. */
export function publishKeys(): string[] {
  return [keys.tagState(), keys.tagVersion(), keys.tagChanges(), keys.tagChannel()];
}

/**
 * Returns the current version, whether the list is complete, and the records changed after
 * version ARGV[1] (all of them when ARGV[1] is 0 or ahead of Redis, e.g. after a flush), at most
 * ARGV[2] tags per call. When cut short, the caller continues from the version of the last tag.
 */
const CHANGES = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
if since == current then return {current, 1, since} end
if since > current then since = 0 end
local limit = tonumber(ARGV[2])
local changed = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, '+inf', 'WITHSCORES', 'LIMIT', 0, limit)
local count = #changed / 2
local reply = {current, count < limit and 1 or 0, since}
if count == 0 then return reply end
local tags = {}
for i = 1, #changed, 2 do tags[#tags + 1] = changed[i] end
local records = redis.call('HMGET', KEYS[3], unpack(tags))
for i = 1, count do
  reply[#reply + 1] = tags[i]
  reply[#reply + 1] = changed[i * 2]
  reply[#reply + 1] = records[i] or false
end
return reply
`;

/** Tags per CHANGES call: a first sync of a large site is paged, so no reply grows without bound. */
export const CHANGES_PAGE_SIZE = 1000;

/** How an invalidation is sent to the PUBLISH script. */
export function publishMode(durations: Durations): string {
  if (durations === undefined || durations.expire === 0) return "hard";
  if (durations.expire === undefined) return "stale";
  return String(durations.expire);
}

export type TagStore = {
  /** Records an invalidation of `tags` made at `now` (ms), and announces it; resolves to the new version. */
  publish(tags: readonly string[], now: number, durations: Durations): Promise<number>;
  /** The records changed since `since` (every record for 0), paged internally. */
  changesSince(since: number): Promise<{ version: number; records: Map<string, TagRecord> }>;
};

/** Subscribes to the announcements; `onVersion` gets each published version. Returns the stop function. */
export type Announcements = (handlers: {
  onVersion: (version: number) => void;
  onError: (error: unknown) => void;
}) => () => void;

/**
 * Announcements over Upstash's server-sent-event SUBSCRIBE, on a `createStreamingRedis` client: its
 * transport reports a stream that fails or ends as an error (lib/redis.ts, `readStream`), so the
 * caller subscribes again. A stream that stays open and carries nothing is noticed by the caller's
 * timer instead (see sync.ts).
 */
export function createAnnouncements(redis: Redis): Announcements {
  return ({ onVersion, onError }) => {
    const subscriber = redis.subscribe<string>(keys.tagChannel());
    subscriber.on("message", ({ message }) => {
      const version = Number(message);
      if (Number.isSafeInteger(version)) onVersion(version);
    });
    subscriber.on("error", onError);
    return () => {
      void subscriber.unsubscribe().catch(() => undefined);
    };
  };
}

const changesReply = z
  .array(z.union([z.string(), z.number(), z.null()]))
  .min(3)
  .transform((items) => {
    const [version, complete, since] = items.slice(0, 3).map(Number);
    const rows: { tag: string; version: number; raw: string | null }[] = [];
    for (let i = 3; i + 2 < items.length; i += 3) {
      const tag = items[i];
      if (typeof tag !== "string") continue;
      const raw = items[i + 2];
      rows.push({ tag, version: Number(items[i + 1]), raw: typeof raw === "string" ? raw : null });
    }
    return { version: version ?? 0, complete: complete === 1, since: since ?? 0, rows };
  });

export function createTagStore(redis: Redis): TagStore {
  const publish = redis.createScript<unknown>(PUBLISH);
  const changes = redis.createScript<unknown>(CHANGES);
  const tagKeys = publishKeys();

  return {
    async publish(tags, now, durations) {
      const reply = await publish.exec(tagKeys, [String(Math.round(now)), publishMode(durations), ...tags]);
      return z.coerce.number().int().parse(reply);
    },

    async changesSince(since) {
      const records = new Map<string, TagRecord>();
      let cursor = since;
      // Bounded: each page either completes or moves the cursor forward by at least one version.
      for (let page = 0; page < 10_000; page++) {
        const reply = changesReply.parse(
          await changes.exec(
            [keys.tagVersion(), keys.tagChanges(), keys.tagState()],
            [String(cursor), String(CHANGES_PAGE_SIZE)],
          ),
        );
        for (const row of reply.rows) {
          const record = decodeRecord(row.raw);
          if (record) records.set(row.tag, record);
        }
        if (reply.complete) return { version: reply.version, records };
        const last = reply.rows.at(-1)?.version ?? reply.version;
        // Tags of one version can straddle a page: re-read that version rather than skip its rest.
        cursor = Math.max(reply.since + 1, last - 1);
      }
      throw new Error("the change log did not end after 10000 pages");
    },
  };
}
