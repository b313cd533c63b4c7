/**
 * Authorization: the session token (sign/verify), the password comparison and the signing key.
 * The token functions are pure (keys passed in); `sessionKey` runs against the real Redis.
 */
import { SignJWT } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { adminEnv } from "@/lib/env";
import { redis } from "@/lib/redis";
import {
  passwordMatches,
  SESSION_TTL_SECONDS,
  sessionKey,
  signSessionToken,
  verifySessionToken,
} from "@/lib/session";

const key = new TextEncoder().encode("k".repeat(32));
const otherKey = new TextEncoder().encode("o".repeat(32));
const password = "correct horse battery";
const now = new Date("2026-03-01T12:00:00Z");
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);

describe("passwordMatches", () => {
  it("accepts the exact password only", () => {
    expect(passwordMatches(password, password)).toBe(true);
    expect(passwordMatches("correct horse batterY", password)).toBe(false);
    expect(passwordMatches(`${password} `, password)).toBe(false);
  });

  it("compares inputs of any length without throwing (both sides are hashed first)", () => {
    expect(passwordMatches("", password)).toBe(false);
    expect(passwordMatches("x".repeat(10_000), password)).toBe(false);
  });
});

describe("session tokens", () => {
  it("verify when signed with the key, for the current password, before expiry", async () => {
    const token = await signSessionToken(key, password, now);
    expect(await verifySessionToken(token, key, password, now)).toBeTypeOf("string");
    expect(await verifySessionToken(token, key, password, later(SESSION_TTL_SECONDS - 1))).toBeTypeOf(
      "string",
    );
  });

  it("expire after 8 hours", async () => {
    expect(SESSION_TTL_SECONDS).toBe(8 * 60 * 60);
    const token = await signSessionToken(key, password, now);
    expect(await verifySessionToken(token, key, password, later(SESSION_TTL_SECONDS + 1))).toBeUndefined();
  });

  it("are refused under another key", async () => {
    const token = await signSessionToken(otherKey, password, now);
    expect(await verifySessionToken(token, key, password, now)).toBeUndefined();
  });

  it("are refused when tampered with (payload or signature)", async () => {
    const token = await signSessionToken(key, password, now);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const extended = Buffer.from(JSON.stringify({ ...claims, exp: claims.exp + 86_400 })).toString(
      "base64url",
    );
    expect(
      await verifySessionToken(`${header}.${extended}.${signature}`, key, password, now),
    ).toBeUndefined();
    const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BB" : "AA"}`;
    expect(await verifySessionToken(`${header}.${payload}.${flipped}`, key, password, now)).toBeUndefined();
  });

  it("are refused when missing, empty or not a JWT", async () => {
    expect(await verifySessionToken(undefined, key, password, now)).toBeUndefined();
    expect(await verifySessionToken("", key, password, now)).toBeUndefined();
    expect(await verifySessionToken("not.a.jwt", key, password, now)).toBeUndefined();
  });

  it("are refused once the password changes, or when editing is disabled", async () => {
    const token = await signSessionToken(key, password, now);
    expect(await verifySessionToken(token, key, "a new admin password", now)).toBeUndefined();
    expect(await verifySessionToken(token, key, undefined, now)).toBeUndefined();
  });

  it("are refused with another audience or issuer, or alg none", async () => {
    const forged = (aud: string, iss: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("admin")
        .setAudience(aud)
        .setIssuer(iss)
        .setIssuedAt(now)
        .setExpirationTime(later(60))
        .sign(key);
    expect(
      await verifySessionToken(await forged("revalidate", "fresh-pages"), key, password, now),
    ).toBeUndefined();
    expect(
      await verifySessionToken(await forged("fresh-pages:admin", "elsewhere"), key, password, now),
    ).toBeUndefined();
    const header = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    const body = Buffer.from(
      JSON.stringify({ sub: "admin", aud: "fresh-pages:admin", iss: "fresh-pages", exp: 9_999_999_999 }),
    ).toString("base64url");
    expect(await verifySessionToken(`${header}.${body}.`, key, password, now)).toBeUndefined();
  });
});

describe("sessionKey", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    adminEnv.reset();
  });

  it("uses ADMIN_SESSION_SECRET when it is set", async () => {
    vi.stubEnv("ADMIN_SESSION_SECRET", "s".repeat(40));
    adminEnv.reset();
    expect(Buffer.from(await sessionKey()).toString()).toBe("s".repeat(40));
  });

  it("otherwise generates 32 random bytes once and keeps them in Redis (SET NX)", async () => {
    vi.stubEnv("ADMIN_SESSION_SECRET", "");
    adminEnv.reset();
    const first = await sessionKey();
    expect(first).toHaveLength(32);
    expect(await sessionKey()).toBe(first); // cached in memory
    const stored = await redis().get<string>("blog:admin:session-key");
    expect(Buffer.from(stored ?? "", "base64url").equals(Buffer.from(first))).toBe(true);
  });

  it("the generated key does not depend on the password: a process with another ADMIN_PASSWORD finds the same key", async () => {
    vi.stubEnv("ADMIN_SESSION_SECRET", "");
    const keyUnder = async (adminPassword: string) => {
      vi.stubEnv("ADMIN_PASSWORD", adminPassword);
      vi.resetModules(); // a new process: no key cached in memory, environment read afresh
      const session = await import("@/lib/session");
      return Buffer.from(await session.sessionKey());
    };
    const underOne = await keyUnder("the first admin password");
    const underAnother = await keyUnder("a completely different password");
    // A key derived from the password would differ here; the stored random one cannot.
    expect(underAnother.equals(underOne)).toBe(true);
    const stored = await redis().get<string>("blog:admin:session-key");
    expect(Buffer.from(stored ?? "", "base64url").equals(underOne)).toBe(true);
  });
});
