/**
 * The revalidation receiver, `POST /api/revalidate` (contract: receiver-contract.md). `receive`
 * runs the contract's steps in its order, each in its own module; `respond` (envelope.ts) turns
 * what they decide into the response and the log line. Everything it touches comes in through
 * `ReceiverDeps` (production.ts builds the real ones), so tests call it with a Request and a real
 * Redis, without a server.
 */
import type { ClientAddress } from "../client-ip";
import { ConfigError, type RevalidationEnv } from "../env";
import type { TagVocabulary } from "../tags";
import { checkSenderLimit, type DeliveryDeps, deliver } from "./delivery";
import { type EnvelopeDeps, ok, type Reply, type RequestContext, respond } from "./envelope";
import { Rejection } from "./errors";
import { countAuthFailure, type Limiters } from "./limits";
import {
  assertJsonContentType,
  parseJson,
  parseRevalidationBody,
  readBoundedBody,
  resolveRevalidationId,
} from "./request";
import { assertScope, bearerToken, type VerifiedToken, verifyRevalidationToken } from "./token";

/** The whole Redis budget of the critical path; past it, limits and de-duplication fail open. */
export const REDIS_BUDGET_MS = 900;

export type ReceiverDeps = DeliveryDeps &
  EnvelopeDeps & {
    /** Read on every request (memoized by lib/env), so the site runs without REVALIDATION_SECRET. */
    config: () => RevalidationEnv;
    limiters: () => Limiters;
    /** The client's rate-limit key, by the configured trust model (lib/client-ip.ts). */
    clientAddress: (headers: Headers) => ClientAddress;
    /** The tags this app assigns and the scopes tokens may name (lib/tags.ts `vocabulary`). */
    vocabulary: TagVocabulary;
  };

/** Answers one request. Never throws: every failure is a JSON response and a log line. */
export function handleRevalidation(request: Request, deps: ReceiverDeps): Promise<Response> {
  return respond(deps, (context) => receive(request, deps, context));
}

async function receive(request: Request, deps: ReceiverDeps, context: RequestContext): Promise<Reply> {
  const { trace } = context;

  // 1. Method.
  if (request.method !== "POST") {
    throw new Rejection(
      "method_not_allowed",
      `${request.method} is not supported here: send POST with a JSON body { "id", "tags" }.`,
      { headers: { Allow: "POST" } },
    );
  }
  const config = readConfig(deps, context);

  // 2. Token. A failure is counted against the client's address (a shared bucket when it has no
  // trustworthy one), and past its limit the answer is a 429. A verified token never meets that count.
  const token = await authenticate(request, deps, config, context);
  trace.iss = token.iss;

  // 3. Content type, size, JSON, schema, ID, scope. A refused body spends none of the sender's limit.
  assertJsonContentType(request.headers);
  const body = parseRevalidationBody(parseJson(await readBoundedBody(request)), deps.vocabulary);
  const id = resolveRevalidationId({ bodyId: body.id, jti: token.jti, headers: request.headers });
  assertScope(token, body.tags, deps.vocabulary);
  trace.tags = body.tags;
  trace.revalidationId = id?.id ?? null;
  trace.idSource = id?.source ?? null;
  const limit = deps.limiters().revalidate;

  // A dry run: step 4 only, nothing claimed or revalidated.
  if (body.dryRun) {
    const limitHeaders = await checkSenderLimit(deps, context, { iss: token.iss, limit });
    trace.outcome = "dry-run";
    return ok({ status: "dry-run", id: id?.id ?? null, tags: body.tags }, limitHeaders);
  }

  // 4–7. Limit, claim and shared publish in one round trip, revalidate, record (delivery.ts).
  return deliver(deps, context, { token, body, id, limit, idTtlSeconds: config.idTtlSeconds });
}

function readConfig(deps: ReceiverDeps, context: RequestContext): RevalidationEnv {
  let config: RevalidationEnv;
  try {
    config = deps.config();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    context.trace.notes.push(error.message.replaceAll("\n", " "));
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
  deps: ReceiverDeps,
  config: RevalidationEnv,
  context: RequestContext,
): Promise<VerifiedToken> {
  const hasAuthorization = request.headers.has("authorization");
  try {
    return await verifyRevalidationToken(bearerToken(request.headers), config, deps.now(), deps.vocabulary);
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    // RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
    const challenge = hasAuthorization
      ? 'Bearer realm="revalidate", error="invalid_token"'
      : 'Bearer realm="revalidate"';
    const unauthorized = new Rejection("unauthorized", error.message, {
      headers: { "WWW-Authenticate": challenge },
    });
    const client = deps.clientAddress(request.headers);
    if (!client.trusted) context.trace.notes.push(`failed authentication counted in the ${client.reason}`);
    throw await countAuthFailure({
      limiters: deps.limiters,
      clientKey: client.key,
      unauthorized,
      budget: context.budget,
      after: context.afterResponse,
      nowMs: () => deps.now().getTime(),
    });
  }
}
