/**
 * Admin sign-in: one shared password (ADMIN_PASSWORD) and a signed session cookie.
 *
 * The cookie holds a compact JWT (HS256, `iss`/`aud` pinned, `exp` 8 hours), httpOnly and
 * SameSite=Lax, Secure in production. Lax keeps the cookie off cross-site POSTs, and Next.js also
 * checks the Origin of every Server Action call.
 *
 * The token also carries `pwd`: an HMAC of the current password under the session key. Changing
 * ADMIN_PASSWORD therefore signs every existing session out.
 *
 * And it carries a session ID (`jti`) that must be listed in Redis (`blog:admin:session:<id>`,
 * expiring with the cookie). Signing out deletes it, so a copied cookie stops working on the server
 * the moment its owner signs out, not only when it expires.
 *
 * In production the cookie is named `__Host-admin_session`: browsers then accept it only with
 * Secure, Path=/ and no Domain, so a sibling subdomain can neither set nor shadow it.
 *
 * The pure functions (`signSessionToken`, `verifySessionToken`, `passwordMatches`) take their keys
 * as arguments so tests can call them directly; the rest reads the request's cookies.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import { cookies } from "next/headers";
import { adminEnv } from "./env";
import { keys, redis } from "./redis";

/** The cookie's name: `__Host-` prefixed in production (it needs Secure, which needs HTTPS). */
export function sessionCookieName(production = process.env.NODE_ENV === "production"): string {
  return production ? "__Host-admin_session" : "admin_session";
}
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
const ISSUER = "fresh-pages";
const AUDIENCE = "fresh-pages:admin";

/** Whether editing is switched on at all (ADMIN_PASSWORD set). */
export function editingEnabled(): boolean {
  return adminEnv().password !== undefined;
}

/**
 * Constant-time password check. Both sides are hashed first so the comparison takes the same time
 * whatever the lengths (timingSafeEqual needs equal lengths, and a length check would leak).
 */
export function passwordMatches(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

function passwordFingerprint(key: Uint8Array, password: string): string {
  return createHmac("sha256", key).update(`admin-password:${password}`).digest("base64url");
}

export async function signSessionToken(
  key: Uint8Array,
  password: string,
  now: Date = new Date(),
  sessionId: string = randomBytes(18).toString("base64url"),
): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({ pwd: passwordFingerprint(key, password) })
    .setJti(sessionId)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject("admin")
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + SESSION_TTL_SECONDS)
    .sign(key);
}

/**
 * The session ID of a token signed with `key`, unexpired, for this issuer/audience and this
 * password; `undefined` for anything else. Whether the session is still open is `sessionIsOpen`.
 */
export async function verifySessionToken(
  token: string | undefined,
  key: Uint8Array,
  password: string | undefined,
  now: Date = new Date(),
): Promise<string | undefined> {
  if (!token || !password) return undefined;
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: "admin",
      currentDate: now,
    });
    const expected = Buffer.from(passwordFingerprint(key, password));
    const actual = Buffer.from(typeof payload.pwd === "string" ? payload.pwd : "");
    const matches = actual.length === expected.length && timingSafeEqual(actual, expected);
    return matches && typeof payload.jti === "string" && payload.jti.length > 0 ? payload.jti : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The signing key

let generatedKey: Promise<Uint8Array> | undefined;

/**
 * ADMIN_SESSION_SECRET when set. Otherwise 32 random bytes generated once and kept in Redis
 * (SET NX, so concurrent first requests and every instance agree on one key), cached in memory.
 *
 * Why not derive the key from ADMIN_PASSWORD: anyone who guesses the password offline from a
 * captured token could then forge sessions forever, and the password is often weak. A random key
 * is not guessable; keeping it in the database the content lives in adds no new secret to protect
 * (whoever can write that database can change the content anyway). Deleting the key signs everyone out.
 */
export async function sessionKey(): Promise<Uint8Array> {
  const configured = adminEnv().sessionSecret;
  if (configured) return new TextEncoder().encode(configured);
  generatedKey ??= loadGeneratedKey().catch((error: unknown) => {
    generatedKey = undefined; // let the next request retry instead of caching the failure
    throw error;
  });
  return generatedKey;
}

async function loadGeneratedKey(): Promise<Uint8Array> {
  const db = redis();
  await db.set(keys.adminSessionKey(), randomBytes(32).toString("base64url"), { nx: true });
  const stored = await db.get<string>(keys.adminSessionKey());
  if (typeof stored !== "string" || stored.length < 43) {
    throw new Error(`The admin session key in Redis (${keys.adminSessionKey()}) is missing or malformed.`);
  }
  return new Uint8Array(Buffer.from(stored, "base64url"));
}

// ---------------------------------------------------------------------------------------------
// The cookie (request-bound: Server Components inside <Suspense>, and Server Actions)

/** Whether this request carries a valid admin session. Reads cookies: never call it inside 'use cache'. */
export async function hasAdminSession(): Promise<boolean> {
  const { password } = adminEnv();
  if (!password) return false;
  const token = (await cookies()).get(sessionCookieName())?.value;
  if (!token) return false;
  const sessionId = await verifySessionToken(token, await sessionKey(), password);
  return sessionId !== undefined && (await sessionIsOpen(sessionId));
}

export async function sessionIsOpen(sessionId: string): Promise<boolean> {
  return (await redis().exists(keys.adminSession(sessionId))) === 1;
}

/** Opens a server-side session and sets its cookie. Server Actions only (cookies can be set there and in route handlers). */
export async function startAdminSession(): Promise<void> {
  const { password } = adminEnv();
  if (!password) throw new Error("Cannot start an admin session: ADMIN_PASSWORD is not set.");
  const sessionId = randomBytes(18).toString("base64url");
  await redis().set(keys.adminSession(sessionId), "1", { ex: SESSION_TTL_SECONDS });
  const token = await signSessionToken(await sessionKey(), password, new Date(), sessionId);
  (await cookies()).set(sessionCookieName(), token, { ...cookieAttributes(), maxAge: SESSION_TTL_SECONDS });
}

function cookieAttributes() {
  return {
    httpOnly: true,
    sameSite: "lax",
    secure: process.env.NODE_ENV === "production",
    path: "/",
  } as const;
}

/** Closes the session on the server (a copy of the cookie stops working) and deletes the cookie. */
export async function endAdminSession(): Promise<void> {
  const jar = await cookies();
  const token = jar.get(sessionCookieName())?.value;
  const { password } = adminEnv();
  if (token && password) {
    const sessionId = await verifySessionToken(token, await sessionKey(), password);
    if (sessionId) await redis().del(keys.adminSession(sessionId));
  }
  // Expired with the attributes it was set with: a browser ignores a __Host- cookie without Secure and
  // Path=/, which is what a bare delete() sends.
  jar.set(sessionCookieName(), "", { ...cookieAttributes(), maxAge: 0 });
}
