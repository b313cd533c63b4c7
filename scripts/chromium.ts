/**
 * Which Chromium the e2e suite, the benchmark and `npm test`'s pre-flight use:
 * PLAYWRIGHT_CHROMIUM_EXECUTABLE when set; otherwise Playwright's own browser when it is installed;
 * otherwise the system's (Debian's /usr/bin/chromium), which is what machines that cannot reach
 * Playwright's download host have. The system browser needs the flags below to start as root
 * without a sandbox and without reaching for the network.
 */
import { existsSync } from "node:fs";
import { chromium, type LaunchOptions } from "@playwright/test";

export const SYSTEM_CHROMIUM_PATHS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

/** `undefined` means Playwright's own browser; otherwise the executable to launch, if any exists. */
export function chromiumExecutable(): string | undefined {
  const asked = process.env.PLAYWRIGHT_CHROMIUM_EXECUTABLE;
  if (asked) return asked;
  if (existsSync(chromium.executablePath())) return undefined;
  return SYSTEM_CHROMIUM_PATHS.find(existsSync);
}

export function chromiumLaunchOptions(): LaunchOptions {
  const executablePath = chromiumExecutable();
  if (!executablePath) return {};
  return {
    executablePath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  };
}
