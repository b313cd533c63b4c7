/**
 * `npm test`: everything a change must pass, in the order that fails fastest.
 *   1. what the suites need on this machine: redis-server and a Chromium (installed with apt-get
 *      when we are root on Debian/Ubuntu, announced; otherwise the exact command is printed)
 *   2. typecheck, 3. lint, 4. Vitest (unit + integration on a real Redis), 5. Playwright (a real
 *   Chromium against `next build && next start`).
 * It ends with one line "tests: N passed, N failed" summing both runners.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const reportDir = path.join(root, ".test-report");
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);

function say(message: string) {
  console.log(`\n▶ ${message}`);
}

function onPath(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function canApt(): boolean {
  return process.getuid?.() === 0 && onPath("apt-get");
}

let aptUpdated = false;
function aptInstall(pkg: string): boolean {
  say(`Installing ${pkg} with apt-get (needed by the test suites; you are root on a Debian-like system)`);
  if (!aptUpdated) {
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
    aptUpdated = true;
  }
  const result = spawnSync("apt-get", ["install", "-y", "-qq", pkg], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return result.status === 0;
}

function requireRedisServer() {
  if (onPath("redis-server") || existsSync("/usr/bin/redis-server")) return;
  if (canApt() && aptInstall("redis-server")) return;
  fail(
    "redis-server is not installed. The tests run against a real Redis. Install it with:\n" +
      "  Debian/Ubuntu: sudo apt-get install -y redis-server\n" +
      "  macOS:         brew install redis",
  );
}

async function requireChromium() {
  if (process.env.PLAYWRIGHT_CHROMIUM_EXECUTABLE) return;
  const { chromium } = await import("@playwright/test");
  const { SYSTEM_CHROMIUM_PATHS } = await import("./chromium");
  if (existsSync(chromium.executablePath()) || SYSTEM_CHROMIUM_PATHS.some(existsSync)) return;
  if (canApt() && aptInstall("chromium")) return;
  fail(
    "No Chromium found for the end-to-end tests. Install one with:\n" +
      "  npx playwright install chromium        (Playwright's own build), or\n" +
      "  sudo apt-get install -y chromium        (Debian/Ubuntu), or set PLAYWRIGHT_CHROMIUM_EXECUTABLE",
  );
}

function fail(message: string): never {
  console.error(`\n✖ ${message}`);
  process.exit(1);
}

function run(title: string, command: string, args: string[], env: Record<string, string> = {}): boolean {
  say(title);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  return result.status === 0;
}

type Counts = { passed: number; failed: number; skipped: number };

function vitestCounts(file: string): Counts {
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

function playwrightCounts(file: string): Counts {
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    stats: { expected: number; unexpected: number; flaky: number; skipped: number };
  };
  // A flaky test (passed only on retry) counts as failed: retries are off, but be explicit.
  return {
    passed: report.stats.expected,
    failed: report.stats.unexpected + report.stats.flaky,
    skipped: report.stats.skipped,
  };
}

function readCounts(file: string, parse: (file: string) => Counts): Counts {
  try {
    return parse(file);
  } catch {
    return { passed: 0, failed: 1, skipped: 0 };
  }
}

async function main() {
  requireRedisServer();
  await requireChromium();
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });

  if (!run("Typecheck (tsc --noEmit)", bin("tsc"), ["--noEmit"])) fail("Typecheck failed.");
  if (!run("Lint (biome check)", bin("biome"), ["check", "."])) {
    fail("Lint failed. `npm run format` fixes formatting and import order.");
  }

  const vitestJson = path.join(reportDir, "vitest.json");
  const unitOk = run("Vitest: unit and integration tests on a real Redis", bin("vitest"), [
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${vitestJson}`,
  ]);
  const unit = readCounts(vitestJson, vitestCounts);

  const e2eJson = path.join(reportDir, "e2e.json");
  const e2eOk = run(
    "Playwright: end-to-end in Chromium against next build && next start",
    bin("playwright"),
    ["test"],
    { PLAYWRIGHT_JSON_OUTPUT_NAME: e2eJson },
  );
  const e2e = readCounts(e2eJson, playwrightCounts);

  const passed = unit.passed + e2e.passed;
  const failed = unit.failed + e2e.failed + (unitOk || unit.failed ? 0 : 1) + (e2eOk || e2e.failed ? 0 : 1);
  const skipped = unit.skipped + e2e.skipped;
  console.log(`\nVitest: ${unit.passed} passed, ${unit.failed} failed, ${unit.skipped} skipped`);
  console.log(`Playwright: ${e2e.passed} passed, ${e2e.failed} failed, ${e2e.skipped} skipped`);
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(unitOk && e2eOk && failed === 0 ? 0 : 1);
}

await main();
