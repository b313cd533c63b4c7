/**
 * A real Redis outage under a Server Action: the app's one Redis client points at a second local
 * endpoint (tests/setup/outage.ts) that the test stops, so every Redis call fails as it would with the
 * database unreachable. The form must get its generic message with a request ID, the log the
 * details, and neither the error page (a throw out of the action) nor the error text.
 *
 * Mocked as in post-actions.test.ts: `cookies()`, `headers()`, `updateTag`.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { type OutageEndpoint, outageEndpoint } from "../setup/outage";

const request = vi.hoisted(() => ({ cookies: new Map<string, string>(), headers: new Headers() }));

vi.mock("next/headers", async () => (await import("./helpers")).fakeNextHeaders(request));

vi.mock("next/cache", () => ({ updateTag: vi.fn(), cacheTag: vi.fn(), cacheLife: vi.fn() }));

const PASSWORD = "vitest-outage-admin-password";
const SESSION_SECRET = "vitest-outage-session-secret-0123456789abcdef";
let outage: OutageEndpoint;

beforeAll(async () => {
  outage = await outageEndpoint();
  // Before anything imports lib/redis: this file's module graph is its own, so its one client is this one.
  vi.stubEnv("UPSTASH_REDIS_REST_URL", outage.url);
  vi.stubEnv("UPSTASH_REDIS_REST_TOKEN", outage.token);
  vi.stubEnv("ADMIN_PASSWORD", PASSWORD);
  vi.stubEnv("ADMIN_SESSION_SECRET", SESSION_SECRET);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await outage.close();
});

it("Redis down while an admin saves: the form's generic message with a logged request ID, nothing of the error", async () => {
  const { initialState } = await import("@/lib/action-state");
  const { sessionCookieName, signSessionToken } = await import("@/lib/session");
  const { editPostAction } = await import("@/app/posts/[slug]/actions");
  // A well-signed cookie: whether its session is still open is a Redis read, in authorize.
  const token = await signSessionToken(new TextEncoder().encode(SESSION_SECRET), PASSWORD);
  request.cookies.set(sessionCookieName(), token);
  await outage.stop();

  const logged = vi.spyOn(console, "error").mockImplementation(() => {});
  try {
    const state = await editPostAction(
      initialState(),
      (() => {
        const data = new FormData();
        for (const [name, value] of Object.entries({ slug: "hello-world", title: "New", body: "Body." }))
          data.set(name, value);
        return data;
      })(),
    );
    expect(state.status).toBe("error");
    expect(state.message).toMatch(/nothing was saved/);
    const requestId = /request ([0-9a-f-]{36}) in the logs/.exec(state.message ?? "")?.[1];
    expect(requestId).toBeDefined();
    expect(state.values).toMatchObject({ slug: "hello-world", title: "New", body: "Body." });
    expect(JSON.stringify(state)).not.toMatch(/fetch failed|ECONNREFUSED|127\.0\.0\.1|Upstash/i);

    const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ msg: "server-action", action: "edit-post", step: "authorize", requestId }),
    ]);
    expect(JSON.stringify(lines)).not.toContain(token);
  } finally {
    logged.mockRestore();
  }
}, 30_000);
