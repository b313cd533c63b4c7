import path from "node:path";
import type { NextConfig } from "next";
import { assertEnvironment } from "./lib/env";
import { seedDemoOnStart } from "./lib/seed";

// Fail `next dev`, `next build` and `next start` at once, with a message naming the variable,
// instead of on the first request that needs it.
assertEnvironment();

const securityHeaders = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), interest-cohort=()" },
  { key: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains" },
  {
    key: "Content-Security-Policy",
    // script-src: Next inlines its bootstrap and RSC payload scripts, so 'unsafe-inline' stays (a nonce
    // would make every page dynamic); scripts from any other origin are refused. Dev needs eval.
    value: `frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'; script-src 'self' 'unsafe-inline'${process.env.NODE_ENV === "development" ? " 'unsafe-eval'" : ""}`,
  },
];

const nextConfig: NextConfig = {
  // Several `next start` instances on one machine each serve their own copy of a build (scripts/cluster).
  distDir: process.env.NEXT_DIST_DIR || ".next",
  cacheComponents: true,
  // Every revalidateTag/updateTag in the process reaches lib/shared-tags through this handler, under
  // a kind of its own that stores nothing (see the file). An absolute path: Next imports it natively.
  cacheHandlers: { "shared-tags": path.resolve("lib/shared-tags/cache-handler.mjs") },
  env: {
    // When this build started, inlined into the server code by `next build`: invalidations made
    // after it may be missing from the pages it prerenders (lib/shared-tags/runtime.ts). A CI that
    // builds elsewhere can pass its own BUILD_STARTED_AT (ms since the epoch).
    FRESH_BUILD_STARTED_AT: process.env.BUILD_STARTED_AT || String(Date.now()),
  },
  partialPrefetching: true,
  poweredByHeader: false,
  typedRoutes: true,
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default async function config(): Promise<NextConfig> {
  // The blog demo's posts, written once per database (lib/seed.ts). Here, because `next build`
  // prerenders the home page from Redis before any server or instrumentation hook runs.
  await seedDemoOnStart();
  return nextConfig;
}
