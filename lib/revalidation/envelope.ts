/**
 * What every receiver answer has in common, whatever the steps decided: the JSON body with its
 * request ID, the headers every response carries (receiver-contract.md, "Responses"), a refusal
 * turned into its error body, an unexpected throw into a 500 that reveals nothing, and the one log
 * line (log.ts) with the activity entry (activity.ts), both written after the response.
 */
import type { Redis } from "@upstash/redis";
import { describeError } from "../redis";
import { recordActivity } from "./activity";
import { Rejection } from "./errors";
import type { Logger, Outcome, ReceiverLogLine } from "./log";
import { createRedisBudget, type RedisBudget } from "./redis-budget";

export type Reply = { status: number; body: Record<string, unknown>; headers: Record<string, string> };

export function ok(body: Record<string, unknown>, headers: Record<string, string>): Reply {
  return { status: 200, body, headers };
}

/** What the log line says about the request, filled in as the steps learn it. */
export type Trace = {
  revalidationId: string | null;
  idSource: string | null;
  iss: string | null;
  tags: string[];
  outcome: Outcome;
  deduplicated: boolean;
  notes: string[];
};

/** What the steps of one request share. */
export type RequestContext = {
  requestId: string;
  trace: Trace;
  /** The Redis time budget of the critical path (redis-budget.ts). */
  budget: RedisBudget;
  /** Queues work the answer does not depend on; it all runs after the response, in one tick. */
  afterResponse: (task: () => Promise<unknown>) => void;
};

export type EnvelopeDeps = {
  redis: () => Redis;
  after: (task: () => Promise<unknown>) => void;
  log: Logger;
  now: () => Date;
  requestId: () => string;
  redisBudgetMs: number;
};

/**
 * Runs `steps` for one request and answers. Never throws: a `Rejection` becomes its error
 * response, anything else a 500, and every request gets one log line.
 */
export async function respond(
  deps: EnvelopeDeps,
  steps: (context: RequestContext) => Promise<Reply>,
): Promise<Response> {
  const started = performance.now();
  const requestId = deps.requestId();
  const deferred: (() => Promise<unknown>)[] = [];
  const context: RequestContext = {
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
    afterResponse: (task) => deferred.push(task),
  };

  let reply: Reply;
  let code: string | null = null;
  try {
    reply = await steps(context);
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

  const { trace, budget } = context;
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
  // Operators see every verified request on /admin/revalidations (activity.ts).
  if (trace.iss) deferred.push(() => recordActivity(deps.redis(), line, deps.now()));
  deps.after(async () => {
    const results = await Promise.allSettled(deferred.map((work) => work()));
    for (const result of results) {
      if (result.status === "rejected")
        line.notes.push(`after the response: ${describeError(result.reason)}`);
    }
    if (line.notes.length > 0 && line.level === "info") line.level = "warn";
    deps.log(line);
  });
  return response;
}
