/**
 * `GET /api/revalidate/<id>`: what happened to a revalidation, for the sender that sent it. The same
 * kind of bearer token as the webhook (any token of that sender and scope); the lookup is in that
 * token's own namespace (`namespacedId`), so no sender can see another's IDs, not even whether they
 * exist. Contract: docs/receiver-contract.md, "Status".
 */
import type { Redis } from "@upstash/redis";
import { ConfigError, type RevalidationEnv } from "../env";
import { describeError } from "../redis";
import type { TagVocabulary } from "../tags";
import { namespacedId, readRevalidationStatus } from "./dedupe";
import { Rejection } from "./errors";
import { ID_PATTERN, ID_RULE } from "./request";
import { bearerToken, verifyRevalidationToken } from "./token";

export type StatusDeps = {
  config: () => RevalidationEnv;
  redis: () => Redis;
  now: () => Date;
  requestId: () => string;
  log: (line: Record<string, unknown>) => void;
  /** The scopes tokens may name (lib/tags.ts `vocabulary`). */
  vocabulary: TagVocabulary;
};

export async function handleRevalidationStatus(
  request: Request,
  rawId: string,
  deps: StatusDeps,
): Promise<Response> {
  const requestId = deps.requestId();
  let status = 200;
  let body: Record<string, unknown>;
  const headers: Record<string, string> = { "Cache-Control": "no-store", "X-Request-Id": requestId };
  try {
    body = await lookUp(request, rawId, deps);
  } catch (error) {
    const rejection =
      error instanceof Rejection
        ? error
        : new Rejection("internal", `The status could not be read. Retry later; request ${requestId}.`);
    if (!(error instanceof Rejection))
      deps.log({ msg: "revalidate-status", requestId, error: describeError(error) });
    status = rejection.status;
    Object.assign(headers, rejection.headers);
    body = { error: { code: rejection.code, message: rejection.message } };
  }
  return Response.json({ ...body, requestId }, { status, headers });
}

async function lookUp(request: Request, rawId: string, deps: StatusDeps): Promise<Record<string, unknown>> {
  let config: RevalidationEnv;
  try {
    config = deps.config();
  } catch (error) {
    if (error instanceof ConfigError)
      throw new Rejection("not_configured", "Revalidation is misconfigured on this server.");
    throw error;
  }
  if (config.secrets.length === 0) {
    throw new Rejection(
      "not_configured",
      "Revalidation is not enabled on this server (REVALIDATION_SECRET).",
    );
  }
  const hasAuthorization = request.headers.has("authorization");
  const token = await verifyRevalidationToken(
    bearerToken(request.headers),
    config,
    deps.now(),
    deps.vocabulary,
  ).catch((error: unknown) => {
    if (!(error instanceof Rejection)) throw error;
    const challenge = hasAuthorization
      ? 'Bearer realm="revalidate", error="invalid_token"'
      : 'Bearer realm="revalidate"';
    throw new Rejection("unauthorized", error.message, { headers: { "WWW-Authenticate": challenge } });
  });
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    id = "";
  }
  if (!ID_PATTERN.test(id))
    throw new Rejection(
      "invalid_id",
      `The ID in the path is not a revalidation ID: use ${ID_RULE}, URL-encoded.`,
    );
  const found = await readRevalidationStatus(deps.redis(), namespacedId(token, id), deps.now());
  if (!found) {
    throw new Rejection(
      "unknown_id",
      `No revalidation ${JSON.stringify(id)} is known for this sender (iss ${JSON.stringify(token.iss)} and this token's scope). IDs are kept for REVALIDATION_ID_TTL_SECONDS after they are done.`,
    );
  }
  return { id, ...found };
}
