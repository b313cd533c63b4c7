/**
 * A new user's first run, on a copy of this repository with no .env files, as the README's quick
 * start and "Try it" promise: `npm run dev` generates development-only secrets and prints them, the
 * webhook CLI finds the dev server and its secret by itself, a change behind the app's back shows
 * after `npm run revalidate`, and a production build refuses the generated values.
 *
 * `next dev`, not `next start`: this is about the first-run experience, not about caching.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "@playwright/test";
import { freshCopy } from "../tests/setup/fresh-copy";

const run = promisify(execFile);
const port = Number(process.env.E2E_FIRST_RUN_PORT ?? 3130);
const site = `http://localhost:${port}`;

/** The environment of someone who configured nothing. */
function bareEnvironment(): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { NEXT_TELEMETRY_DISABLED: "1" };
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(UPSTASH_|KV_|REVALIDATION_|ADMIN_|PREVIEW_|RATE_LIMIT_|NODE_ENV$|NEXT_|__NEXT)/.test(name))
      continue;
    env[name] = value;
  }
  // No NODE_ENV at all, as in a new user's shell: `next dev` and `next build` set their own.
  return env as NodeJS.ProcessEnv;
}

test("npm run dev with no configuration: webhook and editing work, and production refuses the dev values", async ({
  page,
}) => {
  test.setTimeout(240_000);
  const dir = freshCopy();
  const tsx = join(dir, "node_modules", ".bin", "tsx");
  const env = bareEnvironment();
  let dev: ChildProcess | undefined;
  let output = "";
  try {
    dev = spawn(tsx, ["scripts/with-local-redis.ts", "next", "dev", "-p", String(port)], {
      cwd: dir,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    dev.stdout?.on("data", (chunk) => {
      output += String(chunk);
    });
    dev.stderr?.on("data", (chunk) => {
      output += String(chunk);
    });

    // The banner: the generated admin password and the ready command.
    await expect.poll(() => output, { timeout: 60_000 }).toMatch(/password: dev-only-\S+/);
    expect(output).toContain("npm run revalidate -- --tag posts");
    const envFile = join(dir, ".env.development.local");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const generated = readFileSync(envFile, "utf8");
    expect(generated).toMatch(/DEVELOPMENT ONLY/);
    expect(generated).toMatch(/^REVALIDATION_SECRET=dev-only-/m);
    expect(generated).toMatch(/^ADMIN_PASSWORD=dev-only-/m);
    await expect
      .poll(async () => (await fetch(`${site}/`).catch(() => undefined))?.status, { timeout: 120_000 })
      .toBe(200);

    // Editing: the printed password signs in.
    const password = /password: (dev-only-\S+)/.exec(output)?.[1] ?? "";
    await page.goto(`${site}/admin`);
    await page.getByLabel("Admin password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Edit a post" })).toBeVisible({ timeout: 60_000 });

    // The README's webhook command, with no flags: it finds the dev server and its secret.
    const first = await run(tsx, ["scripts/revalidate.ts", "--tag", "posts"], {
      cwd: dir,
      env,
      timeout: 60_000,
    });
    expect(first.stdout).toContain("HTTP 200");
    expect(first.stdout).toContain('"status": "revalidated"');

    // A change behind the app's back shows after the webhook.
    const title = `Changed by the first-run test ${Date.now()}`;
    await run(
      tsx,
      [
        "scripts/with-local-redis.ts",
        "--local",
        tsx,
        "scripts/cms.ts",
        "--slug",
        "hello-world",
        "--title",
        title,
      ],
      {
        cwd: dir,
        env,
        timeout: 60_000,
      },
    );
    await run(tsx, ["scripts/revalidate.ts", "--tag", "post:hello-world"], {
      cwd: dir,
      env,
      timeout: 60_000,
    });
    await expect
      .poll(async () => (await (await fetch(`${site}/`)).text()).includes(title), { timeout: 20_000 })
      .toBe(true);

    // A production build that finds the generated values (copied where production reads them) refuses.
    writeFileSync(join(dir, ".env.production.local"), generated);
    const build = spawnSync(tsx, ["scripts/with-local-redis.ts", "--local", "next", "build"], {
      cwd: dir,
      env,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(build.status).not.toBe(0);
    expect(`${build.stdout}${build.stderr}`).toMatch(/REVALIDATION_SECRET: holds a development-only value/);
  } finally {
    if (dev?.pid) {
      try {
        process.kill(-dev.pid, "SIGTERM");
      } catch {}
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
