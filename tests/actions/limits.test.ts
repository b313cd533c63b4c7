import { beforeEach, describe, expect, it, vi } from "vitest";
import { form, freshLimitsEachTest, randomIp, stubEnvForFile, useTrust } from "./helpers";

const request = vi.hoisted(() => ({ cookies: new Map<string, string>(), headers: new Headers() }));
vi.mock("next/headers", async () => (await import("./helpers")).fakeNextHeaders(request));

vi.mock("next/cache", () => ({ updateTag: vi.fn(), cacheTag: vi.fn(), cacheLife: vi.fn() }));

const { adminEnv } = await import("@/lib/env");
const { endAdminSession, hasAdminSession, sessionCookieName, startAdminSession } = await import(
  "@/lib/session"
);
const { signIn } = await import("@/app/admin/actions");

const PASSWORD = "vitest-limits-admin-password";

/** Runs `attempt` as a sign-in, telling a redirect (signed in) from a returned state. */
async function trySignIn(password: string): Promise<"signed-in" | "wrong" | "blocked" | string> {
  try {
    const state = await signIn({ status: "idle" }, form({ password, next: "/admin" }));
    if (state.fieldErrors?.password === "That is not the admin password.") return "wrong";
    if (state.message?.startsWith("Too many sign-in attempts")) return "blocked";
    return JSON.stringify(state);
  } catch (error) {
    if (String((error as { digest?: string }).digest ?? "").startsWith("NEXT_REDIRECT")) return "signed-in";
    throw error;
  }
}

stubEnvForFile({
  ADMIN_PASSWORD: PASSWORD,
  ADMIN_SESSION_SECRET: "vitest-limits-session-secret-0123456789abcdef",
  RATE_LIMIT_SIGN_IN: "5/1m",
  RATE_LIMIT_SIGN_IN_SITE: "12/1m",
});

freshLimitsEachTest(request, { siteWide: "sign-in-site", perAddress: "sign-in" });

describe("sign-in on a bare next start (no trust configured)", () => {
  it("40 wrong passwords, each with another X-Forwarded-For: at most 5 are compared, the rest are blocked", async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 40; i++) {
      request.headers = new Headers({ "x-forwarded-for": randomIp() });
      outcomes.push(await trySignIn(`guess ${i}`));
    }
    expect(outcomes.filter((o) => o === "wrong")).toHaveLength(5);
    expect(outcomes.slice(5).every((o) => o === "blocked")).toBe(true);
  });

  it("X-Forwarded-For: not-an-ip does not switch the limit off", async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 25; i++) {
      request.headers = new Headers({ "x-forwarded-for": "not-an-ip" });
      outcomes.push(await trySignIn(`guess ${i}`));
    }
    expect(outcomes.filter((o) => o === "wrong")).toHaveLength(5);
    expect(outcomes.at(-1)).toBe("blocked");
  });

  it("parallel guesses are each counted before the password is compared", async () => {
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => trySignIn(`parallel ${i}`)));
    expect(outcomes.filter((o) => o === "wrong").length).toBeLessThanOrEqual(5);
    expect(outcomes.filter((o) => o === "blocked").length).toBeGreaterThanOrEqual(5);
  });
});

describe("sign-in behind a trusted proxy (TRUSTED_PROXY_COUNT=1)", () => {
  beforeEach(() => useTrust({ TRUSTED_PROXY_COUNT: "1" }));

  it("the site-wide limit stops guesses spread over many real addresses", async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      request.headers = new Headers({ "x-forwarded-for": randomIp() });
      outcomes.push(await trySignIn(`guess ${i}`));
    }
    expect(outcomes.filter((o) => o === "wrong")).toHaveLength(12);
    expect(outcomes.slice(12).every((o) => o === "blocked")).toBe(true);
  });

  it("a correct password gives the address its allowance back", async () => {
    request.headers = new Headers({ "x-forwarded-for": randomIp() });
    for (let i = 0; i < 4; i++) expect(await trySignIn(`typo ${i}`)).toBe("wrong");
    expect(await trySignIn(PASSWORD)).toBe("signed-in");
    for (let i = 0; i < 4; i++) expect(await trySignIn(`typo again ${i}`)).toBe("wrong");
  });

  it("an address over its limit is refused even with the right password (nothing is compared)", async () => {
    request.headers = new Headers({ "x-forwarded-for": randomIp() });
    for (let i = 0; i < 5; i++) await trySignIn(`guess ${i}`);
    expect(await trySignIn(PASSWORD)).toBe("blocked");
    request.headers = new Headers({ "x-forwarded-for": randomIp() });
    expect(await trySignIn(PASSWORD)).toBe("signed-in");
  });
});

describe("sign-out", () => {
  it("revokes the session on the server: a copy of the cookie stops working", async () => {
    await startAdminSession();
    const stolen = request.cookies.get(sessionCookieName());
    expect(stolen).toBeTypeOf("string");
    expect(await hasAdminSession()).toBe(true);

    await endAdminSession();
    expect(request.cookies.has(sessionCookieName())).toBe(false);
    request.cookies.set(sessionCookieName(), stolen ?? "");
    expect(await hasAdminSession()).toBe(false);
  });

  it("a password change signs existing sessions out", async () => {
    await startAdminSession();
    expect(await hasAdminSession()).toBe(true);
    vi.stubEnv("ADMIN_PASSWORD", `${PASSWORD}-changed`);
    adminEnv.reset();
    try {
      expect(await hasAdminSession()).toBe(false);
    } finally {
      vi.stubEnv("ADMIN_PASSWORD", PASSWORD);
      adminEnv.reset();
    }
  });

  it("the cookie is __Host- prefixed in production only", () => {
    expect(sessionCookieName(true)).toBe("__Host-admin_session");
    expect(sessionCookieName(false)).toBe("admin_session");
  });
});
