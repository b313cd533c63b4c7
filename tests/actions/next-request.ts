/**
 * Stand-ins for what only exists inside a Next.js request, shared by the action tests:
 * `cookies()` and `headers()` read and write `request`, which each test file creates with
 * `vi.hoisted` (so the mock factory can see it) and hands to `vi.mock("next/headers", ...)`.
 */
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
