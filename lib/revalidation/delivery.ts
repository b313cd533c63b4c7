/**
 * Steps 4 to 7 for a verified, valid delivery: the sender's limit, the claim of its ID, the
 * shared publish and (with it) done, in one Redis round trip (one Lua script), then Next's
 * `revalidateTag`, then the claim released as failed, or recorded as done where nothing was
 * published. The sequence is `deliver`; why one script keeps every promise of the contract is in
 * receiver-contract.md ("One round trip").
 *
 * The script is composed of the functions each concept's own module defines: `consume_limit`
 * (limits.ts), `claim_id` and `mark_done` (dedupe.ts) and `publish_tags` (lib/shared-tags/store.ts). It runs them
 * in the contract's order and stops at the first refusal, so a limited request claims nothing and
 * publishes nothing, and a duplicate publishes nothing.
 */
import type { Redis } from "@upstash/redis";
import { z } from "zod";
import { describeError, keys } from "../redis";
import type { Durations } from "../shared-tags/records";
import { PUBLISH_LUA, publishKeys, publishMode } from "../shared-tags/store";
import type { SharedTagState } from "../shared-tags/sync";
import {
  CLAIM_LUA,
  type ClaimResult,
  claimArguments,
  claimResult,
  describeTagDifference,
  MARK_DONE_LUA,
  markRevalidationDone,
  markRevalidationFailed,
  namespacedId,
} from "./dedupe";
import { ok, type Reply, type RequestContext } from "./envelope";
import { Rejection } from "./errors";
import { SENDER_LIMIT_LUA, type SenderLimit, senderLimitKeys, senderLimitVerdict } from "./limits";
import { createRedisBudget, RedisUnavailable } from "./redis-budget";
import type { RevalidationBody, RevalidationId } from "./request";
import type { VerifiedToken } from "./token";

/** `'max'`: serve the stale page once while it regenerates, so a burst of webhooks never stampedes the data store. */
export const REVALIDATION_PROFILE = "max";

/**
 * What `'max'` means to Next 16.4 (`cacheLife` profile `max`: expire after a year), sent with the
 * shared tag state so every instance applies the same invalidation as this one.
 */
export const REVALIDATION_DURATIONS = { expire: 365 * 24 * 60 * 60 } as const satisfies Durations;

/** Seconds a sender should wait before retrying when the shared tag state did not take the change. */
export const NOT_SHARED_RETRY_AFTER_SECONDS = 5;

/** The shared tag state as the receiver uses it (lib/shared-tags/sync.ts). */
export type SharedTagsPublisher = Pick<SharedTagState, "publishThrough" | "invalidate">;

export type DeliveryDeps = {
  redis: () => Redis;
  /** Next's `revalidateTag`. */
  revalidateTag: (tag: string, profile: typeof REVALIDATION_PROFILE) => unknown;
  /** Where the shared tag state runs (self-hosted `next start`); undefined on Vercel or when off. */
  sharedTags: () => SharedTagsPublisher | undefined;
  now: () => Date;
  leaseMs: number;
  redisBudgetMs: number;
};

/**
 * KEYS: the limit's current and previous window, the ID's claim, the four shared-tag keys.
 * ARGV: limit, window (ms), now (ms), claim? ("1"/"0"), the five claim arguments (owner, now as
 * ISO, lease, tags digest, tags), the ID's TTL once done (s), publish mode ("" = no publish),
 * then the tags.
 *
 * A claimed ID whose tags the script published is recorded done here too: the publish is what a
 * 200 promises (every instance and restart applies it), so from that moment the delivery is done,
 * and recording it in the same round trip saves one after the response. The owner stays on it, so
 * that the rare `revalidateTag` failure on this instance can still mark it failed for the retry.
 * Without a publish (Vercel, or the layer off) done is recorded after `revalidateTag`, as before.
 */
const ADMIT = `${SENDER_LIMIT_LUA}${CLAIM_LUA}${MARK_DONE_LUA}${PUBLISH_LUA}
local now = tonumber(ARGV[3])
local allowed, remaining = consume_limit(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), now)
if allowed == 0 then return {'limited', remaining, 'none', '', 0, '', 0} end
local claim = {'none', '', 0, ''}
if ARGV[4] == '1' then
  claim = claim_id(KEYS[3], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
  if claim[1] ~= 'claimed' then return {'allowed', remaining, claim[1], claim[2], claim[3], claim[4], 0} end
end
local version = 0
if ARGV[11] ~= '' then
  local tags = {}
  for i = 12, #ARGV do tags[#tags + 1] = ARGV[i] end
  version = publish_tags(KEYS[4], KEYS[5], KEYS[6], KEYS[7], now, ARGV[11], tags)
  if claim[1] == 'claimed' then mark_done(KEYS[3], ARGV[6], ARGV[6], ARGV[10], ARGV[8], ARGV[9], '1') end
end
return {'allowed', remaining, claim[1], claim[2], claim[3], claim[4], version}
`;

const admitReply = z.tuple([
  z.enum(["limited", "allowed"]),
  z.coerce.number(),
  z.enum(["none", "claimed", "done", "processing", "conflict"]),
  z.string(),
  z.coerce.number(),
  z.string(),
  z.coerce.number(),
]);

type Admission = {
  allowed: boolean;
  remaining: number;
  /** Undefined when no ID was claimed (none sent, a dry run, or the sender was limited). */
  claim: ClaimResult | undefined;
  /** The shared tag state's version this publish made, 0 when it did not publish. */
  version: number;
};

const scripts = new WeakMap<Redis, ReturnType<Redis["createScript"]>>();

/** The script on `redis`: EVALSHA, and EVAL once per Redis when it does not know it yet. */
function admitScript(redis: Redis): ReturnType<Redis["createScript"]> {
  let script = scripts.get(redis);
  if (!script) {
    script = redis.createScript(ADMIT);
    scripts.set(redis, script);
  }
  return script;
}

/** Runs the one script. `claim` and `publish` are left out for a dry run (the limit alone). */
async function admit(
  redis: Redis,
  request: {
    iss: string;
    limit: SenderLimit;
    claim?: { key: string; args: (string | number)[]; ttlSeconds: number };
    publish?: { mode: string; tags: readonly string[] };
  },
  at: number,
): Promise<Admission> {
  const { limit, claim, publish } = request;
  const limitKeys = senderLimitKeys(request.iss, limit, at);
  // With no ID to claim, KEYS[3] repeats a key the script has already touched; it is never read.
  const reply = admitReply.parse(
    await admitScript(redis).exec(
      [...limitKeys, claim?.key ?? limitKeys[0], ...publishKeys()],
      [
        limit.requests,
        limit.windowMs,
        at,
        claim ? "1" : "0",
        ...(claim?.args ?? ["", "", "", "", ""]),
        claim?.ttlSeconds ?? "",
        publish?.mode ?? "",
        ...(publish?.tags ?? []),
      ].map(String),
    ),
  );
  const [verdict, remaining, state, firstSeenAt, pttl, firstTags, version] = reply;
  return {
    allowed: verdict === "allowed",
    remaining,
    claim: state === "none" ? undefined : claimResult([state, firstSeenAt, pttl, firstTags]),
    version,
  };
}

/** Step 4 alone, for a dry run: one unit of the sender's limit. Returns the `RateLimit-*` headers. */
export async function checkSenderLimit(
  deps: DeliveryDeps,
  context: RequestContext,
  request: { iss: string; limit: SenderLimit },
): Promise<Record<string, string>> {
  const at = deps.now().getTime();
  try {
    const admitted = await context.budget.roundTrip("rate limit", () => admit(deps.redis(), request, at));
    return senderLimitVerdict(request.iss, request.limit, admitted, at);
  } catch (error) {
    if (!(error instanceof RedisUnavailable)) throw error;
    context.trace.notes.push("rate limit unavailable: failed open");
    return {};
  }
}

/**
 * Steps 4 to 7 of one verified, valid delivery: limit, claim and publish (one round trip, which also
 * records done when it published), then `revalidateTag`, then the claim released as failed (before
 * the answer) or, when the script did not publish, recorded as done (after it). When Redis does not answer, the limit and the claim fail open, the tags are still
 * revalidated here, and where the shared tag state runs the change is queued and the answer is
 * 503 `not_shared`: a 200 promises every instance and restart, which a queue in one process cannot.
 */
export async function deliver(
  deps: DeliveryDeps,
  context: RequestContext,
  delivery: {
    token: VerifiedToken;
    body: RevalidationBody;
    id: RevalidationId | undefined;
    limit: SenderLimit;
    idTtlSeconds: number;
  },
): Promise<Reply> {
  const { trace, budget } = context;
  const { token, body, id, limit } = delivery;
  const owner = context.requestId;
  const key = id ? namespacedId(token, id.id) : undefined;
  const firstSeenAt = deps.now();
  const shared = deps.sharedTags();

  // 4, 5, 6b. The sender's limit, the claim and the shared publish: one script, one round trip.
  const run = (at: number) =>
    budget.roundTrip("limit, claim and publish", () =>
      admit(
        deps.redis(),
        {
          iss: token.iss,
          limit,
          ...(key
            ? {
                claim: {
                  key: keys.revalidationId(key),
                  args: claimArguments({ owner, now: firstSeenAt, leaseMs: deps.leaseMs, tags: body.tags }),
                  ttlSeconds: delivery.idTtlSeconds,
                },
              }
            : {}),
          ...(shared ? { publish: { mode: publishMode(REVALIDATION_DURATIONS), tags: body.tags } } : {}),
        },
        at,
      ),
    );
  let admitted: Admission | undefined;
  try {
    admitted = shared
      ? await shared.publishThrough(body.tags, REVALIDATION_DURATIONS, run, (a) => a.version || undefined)
      : await run(firstSeenAt.getTime());
  } catch (error) {
    if (!(error instanceof RedisUnavailable)) throw error;
    trace.notes.push("rate limit unavailable: failed open");
    if (key) trace.notes.push("de-duplication unavailable: failed open");
  }

  let limitHeaders: Record<string, string> = {};
  if (admitted) {
    limitHeaders = senderLimitVerdict(token.iss, limit, admitted, firstSeenAt.getTime());
    const claim = admitted.claim;
    if (claim?.state === "conflict" && id) {
      throw new Rejection(
        "id_conflict",
        `Revalidation ID ${JSON.stringify(id.id)} was first used at ${claim.firstSeenAt || "an earlier time"} with other tags: this request ${describeTagDifference(claim.firstTags, body.tags)}. Nothing was revalidated. Use a new ID for each change (one ID per set of tags), or resend exactly the first request's tags.`,
      );
    }
    if (claim?.state === "duplicate" && id) {
      trace.outcome = "duplicate";
      trace.deduplicated = true;
      return ok({ status: "duplicate", id: id.id, firstSeenAt: claim.firstSeenAt }, limitHeaders);
    }
    if (claim?.state === "in_progress" && id) {
      throw new Rejection(
        "in_progress",
        `Revalidation ${JSON.stringify(id.id)} is being processed by another request right now. Retry after ${claim.retryAfterSeconds} s with the same ID.`,
        { headers: { "Retry-After": String(claim.retryAfterSeconds) } },
      );
    }
  }
  const claimed = admitted?.claim?.state === "claimed";
  // The script recorded done with its publish (see ADMIT).
  const doneRecorded = claimed && (admitted?.version ?? 0) > 0;
  trace.deduplicated = claimed;
  const release = async (reason: string) => {
    if (claimed && key) await recordFailure(deps, context, key, owner, delivery.idTtlSeconds, reason);
  };

  // 6. Revalidate on this instance.
  try {
    for (const tag of body.tags) await deps.revalidateTag(tag, REVALIDATION_PROFILE);
  } catch (error) {
    trace.outcome = "failed";
    trace.notes.push(`revalidateTag failed: ${describeError(error)}`);
    await release("revalidateTag failed on the server");
    throw new Rejection(
      "internal",
      `Revalidation failed on the server: retry with the same ID. The site owner can find request ${context.requestId} in the logs.`,
    );
  }

  // 6b, when the round trip failed: publish the way every other invalidation made here is
  // published (applied, and queued when Redis still does not answer). Only a publish that Redis
  // holds may be answered 200.
  if (!admitted && shared) {
    const published = await shared.invalidate(body.tags, REVALIDATION_DURATIONS, { echoExpected: true });
    if (!published) {
      trace.outcome = "failed";
      trace.notes.push("shared tag state unavailable: applied on this instance and queued");
      // No claim is known to be held here, but the script may have run and only its answer been
      // lost: then this request holds it. Released after the answer (owner-only, a no-op
      // otherwise), so a Redis that never answers does not delay the 503; the sender waits 5 s.
      if (key) {
        context.afterResponse(() =>
          markRevalidationFailed(deps.redis(), key, {
            owner,
            at: deps.now(),
            reason: "the shared tag state (Redis) did not take the change: applied on one instance only",
            ttlSeconds: delivery.idTtlSeconds,
          }),
        );
      }
      throw new Rejection(
        "not_shared",
        `Revalidated on this instance, but the shared tag state (Redis) did not answer, so other instances and later restarts may not see it yet. Retry after ${NOT_SHARED_RETRY_AFTER_SECONDS} s with the same ID.`,
        { headers: { "Retry-After": String(NOT_SHARED_RETRY_AFTER_SECONDS) } },
      );
    }
  }

  // 7. Record it, after the response, unless the script already did.
  const at = deps.now();
  trace.outcome = "revalidated";
  if (claimed && key && !doneRecorded) {
    context.afterResponse(() =>
      markRevalidationDone(deps.redis(), key, {
        firstSeenAt,
        doneAt: at,
        ttlSeconds: delivery.idTtlSeconds,
        tags: body.tags,
      }),
    );
  }
  const warning = !id
    ? "No revalidation ID was sent (body id, token jti, Idempotency-Key, X-Revalidation-Id or webhook-id), so this request was not de-duplicated."
    : !claimed
      ? "De-duplication was unavailable (Redis did not answer in time), so this request was processed without it."
      : undefined;
  return ok(
    {
      status: "revalidated",
      id: id?.id ?? null,
      tags: body.tags,
      profile: REVALIDATION_PROFILE,
      deduplicated: claimed,
      at: at.toISOString(),
      ...(warning ? { warning } : {}),
    },
    limitHeaders,
  );
}

/**
 * Marks the claim failed, with why, before answering: the sender's immediate retry claims it again
 * (not a 409), and GET /api/revalidate/<id> says what happened meanwhile. Only this request's own
 * claim is marked; with none (Redis failed open) it changes nothing. Its own time budget.
 */
async function recordFailure(
  deps: DeliveryDeps,
  context: RequestContext,
  key: string,
  owner: string,
  ttlSeconds: number,
  reason: string,
): Promise<void> {
  await createRedisBudget(deps.redisBudgetMs)
    .roundTrip("record failure", () =>
      markRevalidationFailed(deps.redis(), key, { owner, at: deps.now(), reason, ttlSeconds }),
    )
    .catch(() =>
      context.trace.notes.push("recording the failure failed: the retry waits for the lease to run out"),
    );
}
