/**
 * Shared by the action tests. Stand-ins for what only exists inside a Next.js request:
 * `cookies()` and `headers()` read and write `request`, which each test file creates with
 * `vi.hoisted` (so the mock factory can see it) and hands to `vi.mock("next/headers", ...)`.
 * And the small helpers every file needs: a form, a redirect's target, a client address.
 */
import { afterAll, beforeAll, beforeEach, vi } from "vitest";
import { UNKNOWN_CLIENT } from "@/lib/client-ip";
import { adminEnv, rateLimitEnv } from "@/lib/env";
import { type LimiterName, limiter, SITE_WIDE } from "@/lib/rate-limit";
export type FakeRequest = { cookies: Map<string, string>; headers: Headers };

export function fakeNextHeaders(request: FakeRequest) {
  return {
    cookies: async () => ({
      get: (name: string) =>
        request.cookies.has(name) ? { name, value: request.cookies.get(name) } : undefined,
      // maxAge 0 is how a cookie is expired (lib/session.ts does so to keep the __Host- attributes).
      set: (name: string, value: string, options?: { maxAge?: number }) =>
        void (options?.maxAge === 0 ? request.cookies.delete(name) : request.cookies.set(name, value)),
      delete: (name: string) => void request.cookies.delete(name),
    }),
    headers: async () => request.headers,
  };
}

export function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}

/** Resolves to the redirect target when `promise` rejects with Next's redirect error. */
export async function redirectOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const digest = (error as { digest?: string }).digest ?? "";
    if (digest.startsWith("NEXT_REDIRECT")) return digest.split(";")[2] ?? "";
    throw error;
  }
  throw new Error("expected a redirect");
}

const randomOctet = () => Math.floor(Math.random() * 250);
/** A random private IPv4 address, as a client behind a proxy would appear. */
export const randomIp = () => `10.${randomOctet()}.${randomOctet()}.${randomOctet()}`;

/** Switches the client-address trust model (lib/client-ip.ts) for the tests that follow. */
export function useTrust(trust: Record<string, string>): void {
  for (const name of ["TRUSTED_PROXY_COUNT", "CLIENT_IP_HEADER", "VERCEL"])
    vi.stubEnv(name, trust[name] ?? "");
  rateLimitEnv.reset();
}

/** Sets environment variables for the file's tests, and puts everything back after them. */
export function stubEnvForFile(variables: Record<string, string>): void {
  beforeAll(() => {
    for (const [name, value] of Object.entries(variables)) vi.stubEnv(name, value);
    adminEnv.reset();
    rateLimitEnv.reset();
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    adminEnv.reset();
    rateLimitEnv.reset();
  });
}

/**
 * Before each test: a fresh request (no cookies, no headers), no client-address trust, and the
 * buckets such requests share emptied: the site-wide one and the shared bucket of clients without
 * a trustworthy address.
 */
export function freshLimitsEachTest(
  request: FakeRequest,
  buckets: { siteWide: LimiterName; perAddress: LimiterName },
): void {
  beforeEach(async () => {
    request.cookies.clear();
    request.headers = new Headers();
    useTrust({});
    await Promise.all([
      limiter(buckets.siteWide).resetUsedTokens(SITE_WIDE),
      limiter(buckets.perAddress).resetUsedTokens(UNKNOWN_CLIENT),
    ]);
  });
}
