import { defineConfig, devices } from "@playwright/test";
import { E2E, e2eServerEnv } from "./e2e/env";
import { chromiumLaunchOptions } from "./scripts/chromium";

export default defineConfig({
  testDir: "e2e",
  // Specs share one server and one Redis; they use distinct posts/IDs but run one at a time so
  // that timing-based assertions (stale-then-fresh) are not distorted by a parallel build of load.
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // `npm test` also asks for a JSON report (PLAYWRIGHT_JSON_OUTPUT_NAME) to print one closing line.
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [["list"], ["json"]] : "list",
  use: {
    baseURL: E2E.baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: chromiumLaunchOptions(),
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"], channel: undefined } }],
  webServer: {
    // The real thing: a production build served by `next start`, over a fresh local Redis.
    // --local: the explicit opt-in to a local endpoint for a build (CI=true runs this too).
    command: `npx tsx scripts/with-local-redis.ts --local --ephemeral --port ${E2E.upstashPort} --token ${E2E.upstashToken} sh -c "next build && next start -H 127.0.0.1 -p ${E2E.port}"`,
    url: `${E2E.baseURL}/`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "pipe",
    stderr: "pipe",
    env: e2eServerEnv,
  },
});
