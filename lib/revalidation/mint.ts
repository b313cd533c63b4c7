/**
 * Minting revalidation tokens: the one place that signs them, used by `npm run token` (long-lived,
 * scoped, pasted into a CMS), `npm run revalidate` (short-lived, `jti` = revalidation ID) and the
 * tests. Other senders (a Laravel backend, say) sign the same claims with their own JWT library.
 */
import { SignJWT } from "jose";
import { MIN_SECRET_BYTES } from "../env";
import { vocabulary as appVocabulary, type TagVocabulary } from "../tags";
import { ID_PATTERN, ID_RULE } from "./request";
import { ISSUER_PATTERN, MAX_SCOPE_PATTERNS, TOKEN_ALGORITHM } from "./token";

export const DEFAULT_AUDIENCE = "revalidate";

export type MintOptions = {
  secret: string;
  /** Seconds from `now` until the token expires. */
  expiresInSeconds: number;
  audience?: string;
  /** The sender's name (required: the receiver refuses tokens without one); rate limits and revalidation IDs are per `iss`. */
  issuer: string;
  /** The revalidation ID, for a token minted per request. Never set it on a long-lived token. */
  jti?: string;
  /** Tag patterns (`posts`, `post:*`) the token may revalidate; omitted means every tag. */
  scope?: string[];
  now?: Date;
  /** What a scope may name (default: this app's, lib/tags.ts). */
  vocabulary?: TagVocabulary;
};

export class MintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MintError";
  }
}

export function assertStrongSecret(secret: string | undefined, name = "REVALIDATION_SECRET"): string {
  if (!secret) throw new MintError(`${name} is not set. ${HOW_TO_GENERATE}`);
  if (new TextEncoder().encode(secret).byteLength < MIN_SECRET_BYTES) {
    throw new MintError(
      `${name} is shorter than ${MIN_SECRET_BYTES} bytes, too weak for HS256. ${HOW_TO_GENERATE}`,
    );
  }
  return secret;
}

const HOW_TO_GENERATE =
  "Generate one with: node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\" and put it in .env.local (or your environment).";

export async function mintRevalidationToken(options: MintOptions): Promise<string> {
  const secret = assertStrongSecret(options.secret);
  if (!Number.isInteger(options.expiresInSeconds) || options.expiresInSeconds < 1) {
    throw new MintError("The expiry must be a whole number of seconds, at least 1.");
  }
  if (!ISSUER_PATTERN.test(options.issuer)) {
    throw new MintError("The issuer (iss) must be 1 to 100 of A-Z a-z 0-9 . _ : @ / + -.");
  }
  if (options.jti !== undefined && !ID_PATTERN.test(options.jti)) {
    throw new MintError(`The revalidation ID (jti) must be ${ID_RULE}.`);
  }
  if (options.scope !== undefined) {
    const bad = options.scope.find((pattern) => pattern.length === 0 || pattern.length > 256);
    if (options.scope.length === 0 || options.scope.length > MAX_SCOPE_PATTERNS || bad !== undefined) {
      throw new MintError(
        `A scope is 1 to ${MAX_SCOPE_PATTERNS} tag patterns of 1 to 256 characters, each one of ${(options.vocabulary ?? appVocabulary).scopeShapes.join(", ")}.`,
      );
    }
    // A typo would make a token that revalidates nothing; a free-form prefix (`s*`) one that revalidates too much.
    for (const pattern of options.scope) {
      const checked = (options.vocabulary ?? appVocabulary).checkScopePattern(pattern);
      if (!checked.ok) throw new MintError(checked.reason);
    }
  }

  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const jwt = new SignJWT(options.scope ? { scope: options.scope } : {})
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: "JWT" })
    .setAudience(options.audience ?? DEFAULT_AUDIENCE)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + options.expiresInSeconds);
  jwt.setIssuer(options.issuer);
  if (options.jti !== undefined) jwt.setJti(options.jti);
  return jwt.sign(new TextEncoder().encode(secret));
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, y: 365 * 86_400 } as const;

/** "90s", "5m", "12h", "365d", "1y" → seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,9})\s*(s|m|h|d|y)$/.exec(text.trim());
  if (!match)
    throw new MintError(`"${text}" is not a duration: use a number and a unit, e.g. 5m, 12h, 365d, 1y.`);
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}
