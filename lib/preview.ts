/**
 * Preview links: a signed, expiring URL that turns on Next.js Draft Mode for one post, so an editor
 * sees its unpublished draft on the real site. The token (jose, HS256) has an audience of its own
 * and is signed with a key of its own: PREVIEW_SECRET, or else a key derived from
 * REVALIDATION_SECRET with HKDF under a preview-only label. A webhook token can therefore never open
 * a preview, nor a preview link revalidate anything.
 */
import { hkdfSync } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { type RevalidationEnv, revalidationEnv, type SiteEnv, siteEnv } from "./env";
import { isValidKey, KEY_RULE } from "./tags";

export const PREVIEW_AUDIENCE = "fresh-pages:preview";
const ISSUER = "fresh-pages";
/** Longest a link may live: a preview link is a bearer credential for unpublished text. */
export const MAX_PREVIEW_SECONDS = 7 * 24 * 60 * 60;
export const DEFAULT_PREVIEW_SECONDS = 60 * 60;

export class PreviewLinkError extends Error {
  constructor(
    readonly reason: "expired" | "invalid" | "unavailable",
    message: string,
  ) {
    super(message);
    this.name = "PreviewLinkError";
  }
}

/** The signing key, from the environment (or explicit values, for tests and the CLI). */
export function previewKey(
  site: Pick<SiteEnv, "previewSecret"> = siteEnv(),
  revalidation: Pick<RevalidationEnv, "secrets"> = revalidationEnv(),
): Uint8Array {
  if (site.previewSecret) return new TextEncoder().encode(site.previewSecret);
  const base = revalidation.secrets[0];
  if (!base) {
    throw new PreviewLinkError(
      "unavailable",
      "Previews are not configured: set PREVIEW_SECRET (at least 32 bytes) or REVALIDATION_SECRET.",
    );
  }
  return new Uint8Array(hkdfSync("sha256", base, "", "fresh-pages preview links v1", 32));
}

export async function mintPreviewToken(options: {
  key: Uint8Array;
  slug: string;
  expiresInSeconds?: number;
  now?: Date;
}): Promise<string> {
  if (!isValidKey(options.slug)) {
    throw new PreviewLinkError("invalid", `Invalid slug ${JSON.stringify(options.slug)}: use ${KEY_RULE}.`);
  }
  const seconds = options.expiresInSeconds ?? DEFAULT_PREVIEW_SECONDS;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PREVIEW_SECONDS) {
    throw new PreviewLinkError("invalid", `A preview link lives 1 s to 7 days; ${seconds} s was asked for.`);
  }
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(PREVIEW_AUDIENCE)
    .setSubject(options.slug)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + seconds)
    .sign(options.key);
}

/** The post a valid link previews; a clear `PreviewLinkError` for anything else. */
export async function verifyPreviewToken(
  token: string | null,
  key: Uint8Array,
  now: Date = new Date(),
): Promise<{ slug: string; expiresAt: Date }> {
  if (!token || token.length > 4096) {
    throw new PreviewLinkError("invalid", "This preview link has no valid token. Ask for a new link.");
  }
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      audience: PREVIEW_AUDIENCE,
      issuer: ISSUER,
      currentDate: now,
      requiredClaims: ["exp", "sub"],
    });
    const slug = payload.sub ?? "";
    if (!isValidKey(slug)) throw new PreviewLinkError("invalid", "This preview link names no valid post.");
    return { slug, expiresAt: new Date((payload.exp ?? 0) * 1000) };
  } catch (error) {
    if (error instanceof PreviewLinkError) throw error;
    if (error instanceof errors.JWTExpired) {
      throw new PreviewLinkError(
        "expired",
        "This preview link has expired. Ask for a new one (npm run preview-link).",
      );
    }
    throw new PreviewLinkError(
      "invalid",
      "This preview link is not valid (altered, or signed with another key). Ask for a new one.",
    );
  }
}

/** The link an editor opens: `<site>/api/preview?token=…`. */
export function previewUrl(siteUrl: string, token: string): string {
  return `${siteUrl}/api/preview?token=${encodeURIComponent(token)}`;
}
