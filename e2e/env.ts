/**
 * The one place the e2e suite's server settings live: playwright.config.ts starts the app with
 * these, and specs use them to reach the app, its Redis endpoint and its secrets.
 */
// Override with E2E_APP_PORT / E2E_REDIS_PORT when something else already listens on these.
const port = Number(process.env.E2E_APP_PORT ?? 3100);
const upstashPort = Number(process.env.E2E_REDIS_PORT ?? 8090);
// e2e/instances.spec.ts: its clusters' fronts and instances take ports from here up (about 30), and
// its own Redis endpoint (for the outage test) listens on E2E_CLUSTER_REDIS_PORT.
const clusterPort = Number(process.env.E2E_CLUSTER_PORT ?? 3110);
const clusterUpstashPort = Number(process.env.E2E_CLUSTER_REDIS_PORT ?? 8091);
// e2e/sign-in-lockout.spec.ts: a server of its own (the port and the one after it) over a Redis of its
// own. Derived from the two above unless set, so moving the app's ports moves these too.
const lockoutPort = Number(process.env.E2E_LOCKOUT_PORT ?? port + 50);
const lockoutUpstashPort = Number(process.env.E2E_LOCKOUT_REDIS_PORT ?? upstashPort + 2);

export const E2E = {
  port,
  baseURL: `http://127.0.0.1:${port}`,
  upstashPort,
  upstashUrl: `http://127.0.0.1:${upstashPort}`,
  // The harness passes this token to the local endpoint explicitly (with-local-redis --token).
  upstashToken: "e2e-upstash-token-0123456789abcdef",
  clusterPort,
  clusterUpstashPort,
  lockoutPort,
  lockoutUpstashPort,
  // Test-only secrets: never used outside this suite.
  revalidationSecret: "e2e-revalidation-secret-0123456789abcdef",
  adminPassword: "e2e-admin-password-42",
  adminSessionSecret: "e2e-admin-session-secret-0123456789abcdef",
} as const;

/** The environment `next build && next start` runs with under the e2e suite. */
export const e2eServerEnv: Record<string, string> = {
  REVALIDATION_SECRET: E2E.revalidationSecret,
  ADMIN_PASSWORD: E2E.adminPassword,
  ADMIN_SESSION_SECRET: E2E.adminSessionSecret,
  // The suite submits 100 comments and many revalidations; sign-in keeps a low limit because tests
  // check that repeated wrong passwords are refused. No client-address trust is configured: this is
  // a bare `next start`, so every client shares one bucket (lib/client-ip.ts).
  RATE_LIMIT_COMMENTS: "1000/1m",
  RATE_LIMIT_COMMENTS_PER_POST: "1000/1m",
  RATE_LIMIT_COMMENTS_SITE: "2000/1m",
  RATE_LIMIT_REVALIDATE: "1000/1m",
  RATE_LIMIT_SIGN_IN: "5/15m",
  RATE_LIMIT_SIGN_IN_SITE: "50/15m",
  NEXT_TELEMETRY_DISABLED: "1",
};
