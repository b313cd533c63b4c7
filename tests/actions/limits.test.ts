/**
 * Abuse limits on the Server Actions, against the real Redis: sign-in attempts (per address, before
 * the password is compared, and site-wide), server-side sign-out, and the comment limits (per
 * address, per post, site-wide). Addresses come from lib/client-ip.ts, so each test states the trust
 * model it runs under. Mocked as in actions.test.ts: `cookies()`, `headers()`, `updateTag`.
 *
 * The site-wide buckets are shared by every test that touches them, so they are reset before each
 * test, and this file's tests run one after another (Vitest runs a file's tests in order).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

const request = vi.hoisted(() => ({
  cookies: new Map<string, string>(),
  headers: new Headers(),
}));

vi.mock("next/headers", () => ({
  cookies: async () => ({
    get: (name: string) =>
      request.cookies.has(name) ? { name, value: request.cookies.get(name) } : undefined,
    // maxAge 0 is how a cookie is expired (lib/session.ts does so to keep the __Host- attributes).
    set: (name: string, value: string, options?: { maxAge?: number }) =>
      void (options?.maxAge === 0 ? request.cookies.delete(name) : request.cookies.set(name, value)),
    delete: (name: string) => void request.cookies.delete(name),
  }),
  headers: async () => request.headers,
}));

vi.mock("next/cache", () => ({ updateTag: vi.fn(), cacheTag: vi.fn(), cacheLife: vi.fn() }));

const { initialState } = await import("@/lib/action-state");
const idleState = initialState<never>();
const { adminEnv, rateLimitEnv } = await import("@/lib/env");
const { writePost } = await import("@/lib/posts");
const { limiter, SITE_WIDE } = await import("@/lib/rate-limit");
const { endAdminSession, hasAdminSession, sessionCookieName, startAdminSession } = await import(
  "@/lib/session"
);
const { signIn } = await import("@/app/admin/actions");
const { addCommentAction } = await import("@/app/posts/[slug]/actions");

const PASSWORD = "vitest-limits-admin-password";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}

const randomOctet = () => Math.floor(Math.random() * 250);
const randomIp = () => `10.${randomOctet()}.${randomOctet()}.${randomOctet()}`;

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

function useTrust(trust: Record<string, string>) {
  for (const name of ["TRUSTED_PROXY_COUNT", "CLIENT_IP_HEADER", "VERCEL"])
    vi.stubEnv(name, trust[name] ?? "");
  rateLimitEnv.reset();
}

beforeAll(() => {
  vi.stubEnv("ADMIN_PASSWORD", PASSWORD);
  vi.stubEnv("ADMIN_SESSION_SECRET", "vitest-limits-session-secret-0123456789abcdef");
  vi.stubEnv("RATE_LIMIT_SIGN_IN", "5/1m");
  vi.stubEnv("RATE_LIMIT_SIGN_IN_SITE", "12/1m");
  vi.stubEnv("RATE_LIMIT_COMMENTS", "5/1m");
  vi.stubEnv("RATE_LIMIT_COMMENTS_PER_POST", "4/1m");
  vi.stubEnv("RATE_LIMIT_COMMENTS_SITE", "10/1m");
  adminEnv.reset();
  rateLimitEnv.reset();
});

afterAll(() => {
  vi.unstubAllEnvs();
  adminEnv.reset();
  rateLimitEnv.reset();
});

beforeEach(async () => {
  request.cookies.clear();
  request.headers = new Headers();
  useTrust({});
  await Promise.all([
    limiter("sign-in-site").resetUsedTokens(SITE_WIDE),
    limiter("sign-in").resetUsedTokens("unknown"),
    limiter("comments-site").resetUsedTokens(SITE_WIDE),
    limiter("comments").resetUsedTokens("unknown"),
  ]);
});

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

describe("comments", () => {
  async function newPost(): Promise<string> {
    const slug = `vitest-limits-${randomUUID().slice(0, 8)}`;
    await writePost({ slug, title: "A post", body: "Body." });
    return slug;
  }
  const comment = async (slug: string, i: number) =>
    addCommentAction(idleState, form({ slug, name: "Ada", text: `Comment ${i}` }));

  it("a forged X-Forwarded-For on a bare start shares one bucket", async () => {
    const slugs = [await newPost(), await newPost()];
    const states = [];
    for (let i = 0; i < 6; i++) {
      request.headers = new Headers({ "x-forwarded-for": randomIp() });
      states.push(await comment(slugs[i % 2] ?? "", i));
    }
    expect(states.filter((s) => s.status === "success")).toHaveLength(5);
    expect(states[5]?.message).toMatch(/too fast/);
  });

  it("per post: many addresses cannot flood one post", async () => {
    useTrust({ TRUSTED_PROXY_COUNT: "1" });
    const slug = await newPost();
    const states = [];
    for (let i = 0; i < 5; i++) {
      request.headers = new Headers({ "x-forwarded-for": randomIp() });
      states.push(await comment(slug, i));
    }
    expect(states.map((s) => s.status)).toEqual(["success", "success", "success", "success", "error"]);
    expect(states[4]?.message).toMatch(/too fast on this site/);
  });

  it("site-wide: many addresses on many posts are still bounded", async () => {
    useTrust({ TRUSTED_PROXY_COUNT: "1" });
    const states = [];
    for (let i = 0; i < 12; i++) {
      request.headers = new Headers({ "x-forwarded-for": randomIp() });
      states.push(await comment(await newPost(), i));
    }
    expect(states.filter((s) => s.status === "success")).toHaveLength(10);
  });

  it("names with invisible format characters (Unicode Cf) are refused with a reason", async () => {
    const slug = await newPost();
    for (const name of ["ad\u200Bmin", "\u202Enimda", "Ada\u00AD", "\u2066Ada\u2069"]) {
      const state = await addCommentAction(idleState, form({ slug, name, text: "Hello" }));
      expect(state.fieldErrors?.name).toMatch(/invisible formatting characters/);
    }
  });
});
