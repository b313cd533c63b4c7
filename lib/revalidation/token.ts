/**
 * Step 2 and the scope half of step 3: the bearer token.
 *
 * HS256 only, so a token can never choose a weaker algorithm (or `none`) for itself. `exp` and
 * `aud` are required: a token without an expiry would be valid forever, and `aud` keeps a token
 * minted for another service that shares the secret from working here.
 */
import { createHash } from "node:crypto";
import { errors, jwtVerify } from "jose";
import { z } from "zod";
import { vocabulary as appVocabulary, type TagVocabulary } from "../tags";
import { Rejection } from "./errors";

export const TOKEN_ALGORITHM = "HS256";
export const CLOCK_TOLERANCE_SECONDS = 30;
/** A scoped token with 64 patterns of 256 characters stays well under this; anything longer is not ours. */
export const MAX_TOKEN_LENGTH = 24 * 1024;
export const MAX_SCOPE_PATTERNS = 64;

/** `iss` names the sender in rate-limit keys, revalidation-ID namespaces and logs, so it is kept tame. */
export const ISSUER_PATTERN = /^[A-Za-z0-9._:@/+-]{1,100}$/;

/** The claims we read, with scope patterns checked against a tag vocabulary (lib/tags.ts). */
function claimsSchemaOf(vocabulary: TagVocabulary) {
  return z.object({
    iss: z
      .string({ error: "must be a string" })
      .regex(ISSUER_PATTERN, "must be 1 to 100 of A-Z a-z 0-9 . _ : @ / + -"),
    jti: z.string().optional(),
    exp: z.number(),
    scope: z
      .array(
        z
          .string()
          .min(1)
          .max(256)
          .superRefine((pattern, ctx) => {
            const checked = vocabulary.checkScopePattern(pattern);
            if (!checked.ok) ctx.addIssue({ code: "custom", message: checked.reason });
          }),
      )
      .min(1)
      .max(MAX_SCOPE_PATTERNS)
      .optional(),
  });
}

/** `make(vocabulary)`, made once per vocabulary (the app has one; tests have their own). */
function perVocabulary<T>(make: (vocabulary: TagVocabulary) => T): (vocabulary: TagVocabulary) => T {
  const made = new WeakMap<TagVocabulary, T>();
  return (vocabulary) => {
    let value = made.get(vocabulary);
    if (value === undefined) {
      value = make(vocabulary);
      made.set(vocabulary, value);
    }
    return value;
  };
}

const claimsSchemaFor = perVocabulary(claimsSchemaOf);

export type VerifiedToken = {
  iss: string;
  jti: string | undefined;
  /** Tag patterns this token may revalidate; `undefined` means every tag. */
  scope: string[] | undefined;
  expiresAt: Date;
};

export type TokenConfig = {
  secrets: string[];
  audience: string;
  /** After this, `secrets[1]` (the previous secret) no longer verifies anything. */
  previousSecretExpiresAt?: Date;
};

/** End dates already warned about: once per process (and per date, should the configuration change). */
const warnedPreviousExpired = new Set<number>();

/**
 * Warns once per process when the previous secret's end date has passed while it is still set, so
 * the operator removes it. Returns the message it logged (for tests).
 */
export function warnIfPreviousSecretExpired(
  config: TokenConfig,
  now: Date,
  log: (message: string) => void = console.warn,
): string | undefined {
  const end = config.previousSecretExpiresAt;
  if (!end || warnedPreviousExpired.has(end.getTime()) || config.secrets.length < 2 || now <= end)
    return undefined;
  warnedPreviousExpired.add(end.getTime());
  const message = `[revalidate] REVALIDATION_SECRET_PREVIOUS stopped being accepted at ${end.toISOString()} (REVALIDATION_SECRET_PREVIOUS_EXPIRES). Tokens signed with it now get 401; remove both variables once every sender has a token signed with REVALIDATION_SECRET.`;
  log(message);
  return message;
}

const FIX = "Mint a new one with `npm run token` (or your backend's signer).";

/** The token from `Authorization: Bearer <token>`, or `undefined` when there is none at all. */
export function bearerToken(headers: Headers): string | undefined {
  const header = headers.get("authorization");
  if (header === null) return undefined;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new Rejection(
      "unauthorized",
      "The Authorization header must be `Bearer <token>` (the token goes in this header only, never in the URL or body).",
    );
  }
  return match[1];
}

/**
 * Each secret imported once per process as a CryptoKey: handed raw bytes, jose imports a new key on
 * every verification, which the receiver's CPU profile showed as a visible share of a request.
 */
const imported = new Map<string, Promise<CryptoKey>>();
function keyOf(secret: string): Promise<CryptoKey> {
  let key = imported.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    imported.set(secret, key);
  }
  return key;
}

/**
 * Tokens verified before. A CMS sends the same long-lived token with every webhook, and its
 * signature and claims cannot change, so verifying it again (an HMAC through WebCrypto and the
 * claims through zod, a visible share of a webhook's CPU in the receiver's profile) is work done
 * once per process; what depends on the time (exp, nbf, the previous secret's end date) is checked
 * on every request, and a token near any of them is verified in full, so its refusal says why.
 * Keyed by a digest of the token and the configuration (never the token itself), and bounded.
 */
const VERIFIED_CACHE_SIZE = 256;
type Verified = { token: VerifiedToken; notBefore: number | undefined; previous: boolean };
// One memory per vocabulary: it decides which scopes are valid, so a token verified under another
// vocabulary (only tests have another) is not verified under this one.
const verifiedFor = perVocabulary(() => new Map<string, Verified>());

function verifiedKey(token: string, config: TokenConfig): string {
  return createHash("sha256")
    .update(`${config.audience}\0${config.secrets.join("\0")}\0${token}`)
    .digest("base64url");
}

function stillValid(known: Verified, now: Date, previousExpired: boolean): boolean {
  const seconds = now.getTime() / 1000;
  if (known.previous && previousExpired) return false;
  if (known.token.expiresAt.getTime() / 1000 + CLOCK_TOLERANCE_SECONDS <= seconds + 1) return false;
  return known.notBefore === undefined || known.notBefore <= seconds + CLOCK_TOLERANCE_SECONDS;
}

function remember(verified: Map<string, Verified>, key: string, entry: Verified): void {
  if (verified.size >= VERIFIED_CACHE_SIZE) {
    const oldest = verified.keys().next().value;
    if (oldest !== undefined) verified.delete(oldest);
  }
  verified.set(key, entry);
}

/**
 * Verifies `token` with the current secret, then the previous one (a rotation), and returns its
 * claims. Throws an `unauthorized` Rejection whose message says what to fix.
 */
export async function verifyRevalidationToken(
  token: string | undefined,
  config: TokenConfig,
  now: Date,
  vocabulary: TagVocabulary = appVocabulary,
): Promise<VerifiedToken> {
  if (token === undefined) {
    throw new Rejection("unauthorized", `No token: send \`Authorization: Bearer <token>\`. ${FIX}`);
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new Rejection(
      "unauthorized",
      `The token is longer than ${MAX_TOKEN_LENGTH} characters, so it is not one of ours. ${FIX}`,
    );
  }

  warnIfPreviousSecretExpired(config, now);
  const previousExpired =
    config.previousSecretExpiresAt !== undefined && now > config.previousSecretExpiresAt;
  const verified = verifiedFor(vocabulary);
  const cacheKey = verifiedKey(token, config);
  const known = verified.get(cacheKey);
  if (known && stillValid(known, now, previousExpired)) return known.token;
  verified.delete(cacheKey);
  let lastError: unknown;
  for (const [index, secret] of config.secrets.entries()) {
    try {
      const { payload } = await jwtVerify(token, await keyOf(secret), {
        algorithms: [TOKEN_ALGORITHM],
        audience: config.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: now,
        requiredClaims: ["exp", "aud"],
      });
      if (index > 0 && previousExpired) {
        throw new Rejection(
          "unauthorized",
          `The token is signed with the previous secret, which stopped being accepted at ${config.previousSecretExpiresAt?.toISOString()}. ${FIX}`,
        );
      }
      const claims = readClaims(payload, vocabulary);
      remember(verified, cacheKey, {
        token: claims,
        notBefore: typeof payload.nbf === "number" ? payload.nbf : undefined,
        previous: index > 0,
      });
      return claims;
    } catch (error) {
      if (error instanceof Rejection) throw error;
      lastError = error;
      // Only a signature mismatch can mean "signed with the other secret"; any other failure is final.
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) break;
    }
  }
  throw new Rejection("unauthorized", explain(lastError, config.audience));
}

function readClaims(payload: Record<string, unknown>, vocabulary: TagVocabulary): VerifiedToken {
  if (payload.iss === undefined) {
    // Refused rather than namespaced by a hash of the token: see "Senders" in receiver-contract.md.
    throw new Rejection(
      "unauthorized",
      "The token has no `iss` claim. Every token must name its sender: rate limits and revalidation IDs are kept per `iss`, so senders can never block or de-duplicate each other. Mint one with `npm run token -- --iss <sender>` (or set `iss` in your backend's signer).",
    );
  }
  const result = claimsSchemaFor(vocabulary).safeParse(payload);
  if (!result.success) {
    const issue = result.error.issues[0];
    const claim = issue?.path[0] === undefined ? "claims" : String(issue.path[0]);
    const hint =
      claim === "scope"
        ? ` \`scope\` must be an array of 1 to ${MAX_SCOPE_PATTERNS} patterns, each *, a tag, or <prefix>:*.`
        : "";
    throw new Rejection(
      "unauthorized",
      `The token's \`${claim}\` claim is invalid: ${(issue?.message ?? "unexpected value").replace(/\.$/, "")}.${hint} ${FIX}`,
    );
  }
  const claims = result.data;
  return {
    iss: claims.iss,
    jti: claims.jti,
    scope: claims.scope,
    expiresAt: new Date(claims.exp * 1000),
  };
}

function explain(error: unknown, audience: string): string {
  if (error instanceof errors.JWTExpired) {
    const exp = typeof error.payload.exp === "number" ? new Date(error.payload.exp * 1000) : undefined;
    return `The token expired${exp ? ` at ${exp.toISOString()}` : ""}. ${FIX}`;
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") {
      const nbf = typeof error.payload.nbf === "number" ? new Date(error.payload.nbf * 1000) : undefined;
      return `The token is not valid before ${nbf ? nbf.toISOString() : "its nbf time"}; check the sender's clock. ${FIX}`;
    }
    if (error.claim === "aud") {
      return error.reason === "missing"
        ? `The token has no \`aud\` claim; it must be "${audience}". ${FIX}`
        : `The token's \`aud\` claim is not "${audience}". ${FIX}`;
    }
    if (error.claim === "exp") {
      return `The token has no valid \`exp\` claim; every token must expire. ${FIX}`;
    }
    return `The token's \`${error.claim}\` claim is invalid. ${FIX}`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return `The token must be signed with ${TOKEN_ALGORITHM}; other algorithms, \`none\` included, are refused. ${FIX}`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return `The token's signature does not match REVALIDATION_SECRET (nor REVALIDATION_SECRET_PREVIOUS, if set): it was signed with another secret or altered. ${FIX}`;
  }
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) {
    return `The token is not a valid JWT (three base64url parts, a JSON payload). ${FIX}`;
  }
  return `The token could not be verified. ${FIX}`;
}

/** Tags the token's scope does not cover: a 403 when not empty. */
export function tagsOutsideScope(
  scope: string[] | undefined,
  tags: string[],
  vocabulary: TagVocabulary = appVocabulary,
): string[] {
  if (!scope) return [];
  return tags.filter((tag) => !scope.some((pattern) => vocabulary.scopeCovers(pattern, tag)));
}

export function assertScope(
  token: VerifiedToken,
  tags: string[],
  vocabulary: TagVocabulary = appVocabulary,
): void {
  const outside = tagsOutsideScope(token.scope, tags, vocabulary);
  if (outside.length === 0) return;
  throw new Rejection(
    "forbidden",
    `This token may revalidate only ${token.scope?.map((p) => JSON.stringify(p)).join(", ")}; it does not cover ${outside
      .slice(0, 5)
      .map((t) => JSON.stringify(t))
      .join(
        ", ",
      )}${outside.length > 5 ? ` and ${outside.length - 5} more` : ""}. Send those tags with a token whose scope covers them.`,
    { headers: { "WWW-Authenticate": 'Bearer realm="revalidate", error="insufficient_scope"' } },
  );
}
