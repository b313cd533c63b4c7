/**
 * The revalidation receiver, `POST /api/revalidate` (contract: receiver-contract.md). It runs the
 * steps in the contract's order; each step lives in its own module. Everything it touches comes in
 * through `ReceiverDeps`, so tests call it with a Request and a real Redis, without a server.
 */
import type { Redis } from "@upstash/redis";
import { type ClientAddress, clientAddress } from "../client-ip";
import { ConfigError, type RevalidationEnv, revalidationEnv } from "../env";
import { createLimiter } from "../rate-limit";
import { describeError, failFastRedis } from "../redis";
import { shareInvalidation } from "../shared-tags/runtime";
import { recordActivity } from "./activity";
import {
  claimRevalidationId,
  DEFAULT_LEASE_MS,
  describeTagDifference,
  markRevalidationDone,
  markRevalidationFailed,
  namespacedId,
} from "./dedupe";
import { Rejection } from "./errors";
import { checkLimits, countAuthFailure, type Limiters } from "./limits";
import { consoleLogger, type Logger, type Outcome, type ReceiverLogLine } from "./log";
import { createRedisBudget, RedisUnavailable } from "./redis-budget";
import {
  assertJsonContentType,
  parseJson,
  parseRevalidationBody,
  type RevalidationBody,
  type RevalidationId,
  readBoundedBody,
  resolveRevalidationId,
} from "./request";
import { assertScope, bearerToken, type VerifiedToken, verifyRevalidationToken } from "./token";

/** `'max'`: serve the stale page once while it regenerates, so a burst of webhooks never stampedes the data store. */
export const REVALIDATION_PROFILE = "max";

/**
 * What `'max'` means to Next 16.4 (`cacheLife` profile `max`: expire after a year), sent with the
 * shared tag state so every instance applies the same invalidation as this one.
 */
export const REVALIDATION_DURATIONS = { expire: 365 * 24 * 60 * 60 } as const;

/** Seconds a sender should wait before retrying when the shared tag state did not take the change. */
export const NOT_SHARED_RETRY_AFTER_SECONDS = 5;

/** The whole Redis budget of the critical path; past it, limits and de-duplication fail open. */
export const REDIS_BUDGET_MS = 900;

export type ReceiverDeps = {
  /** Read on every request (memoized by lib/env), so the site runs without REVALIDATION_SECRET. */
  config: () => RevalidationEnv;
  /** A client that fails fast (no retries, aborted requests): see `createFailFastRedis`. */
  redis: () => Redis;
  limiters: () => Limiters;
  /** Next's `revalidateTag`; tests pass a recording function because the real one needs a Next server. */
  revalidateTag: (tag: string, profile: typeof REVALIDATION_PROFILE) => unknown;
  /**
   * Records the invalidation in the shared tag state (lib/shared-tags), so that every instance,
   * restart and later build applies it: "off" where the layer does not run (Vercel, one process
   * with SHARED_TAG_STATE=off), "queued" when Redis did not take it in time.
   */
  share: (tags: readonly string[]) => Promise<"published" | "queued" | "off">;
  /** Next's `after`: runs work once the response has been sent. */
  after: (task: () => Promise<unknown>) => void;
  log: Logger;
  /** The client's rate-limit key, by the configured trust model (lib/client-ip.ts). */
  clientAddress: (headers: Headers) => ClientAddress;
  now: () => Date;
  requestId: () => string;
  leaseMs: number;
  redisBudgetMs: number;
};

/** The dependencies of the real route: Next's functions plus the project's Redis, limiters and env. */
export function productionDeps(next: Pick<ReceiverDeps, "revalidateTag" | "after">): ReceiverDeps {
  let limiters: Limiters | undefined;
  return {
    ...next,
    config: () => revalidationEnv(),
    redis: failFastRedis,
    // The route then calls revalidateTag for the same tags: Next's echo of it is not published again.
    share: (tags) => shareInvalidation(tags, REVALIDATION_DURATIONS, { echoExpected: true }),
    limiters: () => {
      limiters ??= {
        revalidate: createLimiter("revalidate", { redis: failFastRedis(), timeoutMs: REDIS_BUDGET_MS }),
        authFailures: createLimiter("auth-failures", { redis: failFastRedis(), timeoutMs: REDIS_BUDGET_MS }),
      };
      return limiters;
    },
    log: consoleLogger,
    clientAddress: (headers) => clientAddress(headers),
    now: () => new Date(),
    requestId: () => crypto.randomUUID(),
    leaseMs: DEFAULT_LEASE_MS,
    redisBudgetMs: REDIS_BUDGET_MS,
  };
}

type Reply = { status: number; body: Record<string, unknown>; headers: Record<string, string> };

/** What the log line says about the request, filled in as the steps learn it. */
type Trace = {
  revalidationId: string | null;
  idSource: string | null;
  iss: string | null;
  tags: string[];
  outcome: Outcome;
  deduplicated: boolean;
  notes: string[];
};

type Context = {
  deps: ReceiverDeps;
  requestId: string;
  trace: Trace;
  budget: ReturnType<typeof createRedisBudget>;
  /** Work that the answer does not depend on; it runs after the response, in one tick (one pipeline). */
  afterResponse: (() => Promise<unknown>)[];
};

/** Answers one request. Never throws: every failure is a JSON response and a log line. */
export async function handleRevalidation(request: Request, deps: ReceiverDeps): Promise<Response> {
  const started = performance.now();
  const requestId = deps.requestId();
  const context: Context = {
    deps,
    requestId,
    trace: {
      revalidationId: null,
      idSource: null,
      iss: null,
      tags: [],
      outcome: "rejected",
      deduplicated: false,
      notes: [],
    },
    budget: createRedisBudget(deps.redisBudgetMs),
    afterResponse: [],
  };

  let reply: Reply;
  let code: string | null = null;
  try {
    reply = await receive(request, context);
  } catch (error) {
    const rejection =
      error instanceof Rejection
        ? error
        : new Rejection(
            "internal",
            `Something went wrong on the server. Retry later; if it persists, the site owner can find request ${requestId} in the logs.`,
          );
    if (!(error instanceof Rejection)) {
      context.trace.outcome = "failed";
      context.trace.notes.push(`unexpected error: ${describeError(error)}`);
    }
    code = rejection.code;
    reply = {
      status: rejection.status,
      headers: rejection.headers,
      body: {
        error: {
          code: rejection.code,
          message: rejection.message,
          ...(rejection.issues ? { issues: rejection.issues } : {}),
        },
      },
    };
  }

  const response = Response.json(
    { ...reply.body, requestId },
    {
      status: reply.status,
      headers: {
        ...reply.headers,
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex",
        "X-Request-Id": requestId,
      },
    },
  );

  const { trace, budget, afterResponse } = context;
  const line: ReceiverLogLine = {
    msg: "revalidate",
    level: reply.status >= 500 ? "error" : trace.notes.length > 0 ? "warn" : "info",
    requestId,
    revalidationId: trace.revalidationId,
    idSource: trace.idSource,
    iss: trace.iss,
    tags: trace.tags,
    outcome: trace.outcome,
    status: reply.status,
    code,
    latencyMs: Math.round(performance.now() - started),
    redisRoundTrips: budget.roundTrips,
    deduplicated: trace.deduplicated,
    notes: [...trace.notes, ...budget.failures],
  };
  // Operators see every verified request on /admin/revalidations (lib/revalidation/activity.ts).
  if (trace.iss) afterResponse.push(() => recordActivity(deps.redis(), line, deps.now()));
  deps.after(async () => {
    const results = await Promise.allSettled(afterResponse.map((work) => work()));
    for (const result of results) {
      if (result.status === "rejected")
        line.notes.push(`after the response: ${describeError(result.reason)}`);
    }
    if (line.notes.length > 0 && line.level === "info") line.level = "warn";
    deps.log(line);
  });
  return response;
}

async function receive(request: Request, context: Context): Promise<Reply> {
  const { deps, trace, budget } = context;

  // 1. Method.
  if (request.method !== "POST") {
    throw new Rejection(
      "method_not_allowed",
      `${request.method} is not supported here: send POST with a JSON body { "id", "tags" }.`,
      { headers: { Allow: "POST" } },
    );
  }
  const config = readConfig(deps, trace);
  const client = deps.clientAddress(request.headers);
  const after = (task: () => Promise<unknown>) => context.afterResponse.push(task);
  const nowMs = () => deps.now().getTime();
  const limiters = deps.limiters;

  // 2. Token. A failure is counted against the client's address (a shared bucket when it has no
  // trustworthy one), and past its limit the answer is a 429. A verified token never meets that count.
  let token: VerifiedToken;
  try {
    token = await authenticate(request, config, context);
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    if (!client.trusted) trace.notes.push(`failed authentication counted in the ${client.reason}`);
    throw await countAuthFailure({
      limiters,
      clientKey: client.key,
      unauthorized: error,
      budget,
      after,
      nowMs,
    });
  }
  trace.iss = token.iss;

  // 3. Content type, size, JSON, schema, ID, scope.
  let input: { body: RevalidationBody; id: RevalidationId | undefined } | undefined;
  let invalid: Rejection | undefined;
  try {
    assertJsonContentType(request.headers);
    const body = parseRevalidationBody(parseJson(await readBoundedBody(request)));
    const id = resolveRevalidationId({ bodyId: body.id, jti: token.jti, headers: request.headers });
    assertScope(token, body.tags);
    input = { body, id };
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    invalid = error;
  }

  // 4. Rate limit per sender.
  const limits = await checkLimits({
    limiters,
    iss: token.iss,
    consume: input !== undefined,
    budget,
    after,
    nowMs,
  });
  trace.notes.push(...limits.notes);
  if (!input) throw invalid ?? new Rejection("internal", "The request could not be read.");

  const { body, id } = input;
  trace.tags = body.tags;
  trace.revalidationId = id?.id ?? null;
  trace.idSource = id?.source ?? null;

  if (body.dryRun) {
    trace.outcome = "dry-run";
    return ok({ status: "dry-run", id: id?.id ?? null, tags: body.tags }, limits.headers);
  }

  // 5. Claim the ID.
  const key = id ? namespacedId(token, id.id) : undefined;
  const firstSeenAt = deps.now();
  const owner = context.requestId;
  let claimed = false;
  if (key && id) {
    try {
      const claim = await budget.roundTrip("claim", () =>
        claimRevalidationId(deps.redis(), key, {
          owner,
          now: firstSeenAt,
          leaseMs: deps.leaseMs,
          tags: body.tags,
        }),
      );
      if (claim.state === "conflict") {
        throw new Rejection(
          "id_conflict",
          `Revalidation ID ${JSON.stringify(id.id)} was first used at ${claim.firstSeenAt || "an earlier time"} with other tags: this request ${describeTagDifference(claim.firstTags, body.tags)}. Nothing was revalidated. Use a new ID for each change (one ID per set of tags), or resend exactly the first request's tags.`,
        );
      }
      if (claim.state === "duplicate") {
        trace.outcome = "duplicate";
        trace.deduplicated = true;
        return ok({ status: "duplicate", id: id.id, firstSeenAt: claim.firstSeenAt }, limits.headers);
      }
      if (claim.state === "in_progress") {
        throw new Rejection(
          "in_progress",
          `Revalidation ${JSON.stringify(id.id)} is being processed by another request right now. Retry after ${claim.retryAfterSeconds} s with the same ID.`,
          { headers: { "Retry-After": String(claim.retryAfterSeconds) } },
        );
      }
      claimed = true;
      trace.deduplicated = true;
    } catch (error) {
      if (!(error instanceof RedisUnavailable)) throw error;
      trace.notes.push("de-duplication unavailable: failed open");
    }
  }

  // 6. Revalidate.
  try {
    for (const tag of body.tags) await deps.revalidateTag(tag, REVALIDATION_PROFILE);
  } catch (error) {
    trace.outcome = "failed";
    trace.notes.push(`revalidateTag failed: ${describeError(error)}`);
    if (claimed && key) {
      await recordFailure(deps, key, owner, trace, config.idTtlSeconds, "revalidateTag failed on the server");
    }
    throw new Rejection(
      "internal",
      `Revalidation failed on the server: retry with the same ID. The site owner can find request ${context.requestId} in the logs.`,
    );
  }

  // 6b. Share it. A 200 promises that every instance, restart and later build will apply it, so
  // it is answered only once Redis holds it; otherwise the sender is asked to retry (this instance
  // has applied it and keeps it queued, but a queue in one process does not survive that process).
  const shared = await deps.share(body.tags);
  if (shared === "queued") {
    trace.outcome = "failed";
    trace.notes.push("shared tag state unavailable: applied on this instance and queued");
    if (claimed && key) {
      await recordFailure(
        deps,
        key,
        owner,
        trace,
        config.idTtlSeconds,
        "the shared tag state (Redis) did not take the change: applied on one instance only",
      );
    }
    throw new Rejection(
      "not_shared",
      `Revalidated on this instance, but the shared tag state (Redis) did not answer, so other instances and later restarts may not see it yet. Retry after ${NOT_SHARED_RETRY_AFTER_SECONDS} s with the same ID.`,
      { headers: { "Retry-After": String(NOT_SHARED_RETRY_AFTER_SECONDS) } },
    );
  }

  // 7. Record it, after the response.
  const at = deps.now();
  trace.outcome = "revalidated";
  if (claimed && key) {
    context.afterResponse.push(() =>
      markRevalidationDone(deps.redis(), key, {
        firstSeenAt,
        doneAt: at,
        ttlSeconds: config.idTtlSeconds,
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
    limits.headers,
  );
}

/**
 * Marks the claim failed, with why, before answering: the sender's immediate retry claims it again
 * (not a 409), and GET /api/revalidate/<id> says what happened meanwhile.
 */
async function recordFailure(
  deps: ReceiverDeps,
  key: string,
  owner: string,
  trace: Trace,
  ttlSeconds: number,
  reason: string,
): Promise<void> {
  await createRedisBudget(deps.redisBudgetMs)
    .roundTrip("record failure", () =>
      markRevalidationFailed(deps.redis(), key, { owner, at: deps.now(), reason, ttlSeconds }),
    )
    .catch(() => trace.notes.push("recording the failure failed: the retry waits for the lease to run out"));
}

function ok(body: Record<string, unknown>, headers: Record<string, string>): Reply {
  return { status: 200, body, headers };
}

function readConfig(deps: ReceiverDeps, trace: Trace): RevalidationEnv {
  let config: RevalidationEnv;
  try {
    config = deps.config();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    trace.notes.push(error.message.replaceAll("\n", " "));
    throw new Rejection(
      "not_configured",
      "Revalidation is misconfigured on this server (REVALIDATION_* variables); the site owner can see which variable in the server log.",
    );
  }
  if (config.secrets.length === 0) {
    throw new Rejection(
      "not_configured",
      "Revalidation is not enabled on this server: the site owner must set REVALIDATION_SECRET (at least 32 bytes) and redeploy.",
    );
  }
  return config;
}

async function authenticate(
  request: Request,
  config: RevalidationEnv,
  context: Context,
): Promise<VerifiedToken> {
  const hasAuthorization = request.headers.has("authorization");
  try {
    return await verifyRevalidationToken(bearerToken(request.headers), config, context.deps.now());
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    // RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
    const challenge = hasAuthorization
      ? 'Bearer realm="revalidate", error="invalid_token"'
      : 'Bearer realm="revalidate"';
    throw new Rejection("unauthorized", error.message, { headers: { "WWW-Authenticate": challenge } });
  }
}
