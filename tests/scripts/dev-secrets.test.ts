/** scripts/dev-secrets.ts and lib/env.ts's refusal of its values in production. */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { adminEnv, ConfigError, revalidationEnv } from "@/lib/env";
import { devPort, ensureDevSecrets, recordDevServer, recordedDevServer } from "@/scripts/dev-secrets";

describe("ensureDevSecrets", () => {
  test("generates what is missing once, strong, in a file only this user reads", () => {
    const dir = mkdtempSync(join(tmpdir(), "dev-secrets-"));
    const env: Record<string, string | undefined> = {};
    expect(ensureDevSecrets(dir, env)).toEqual(["REVALIDATION_SECRET", "ADMIN_PASSWORD"]);
    const file = join(dir, ".env.development.local");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(text).toContain(`REVALIDATION_SECRET=${env.REVALIDATION_SECRET}`);
    expect(env.REVALIDATION_SECRET).toMatch(/^dev-only-[A-Za-z0-9_-]{43}$/);
    expect(env.ADMIN_PASSWORD?.length).toBeGreaterThanOrEqual(12);
    // They pass the app's own validation in development.
    expect(revalidationEnv({ REVALIDATION_SECRET: env.REVALIDATION_SECRET }).secrets).toHaveLength(1);
    expect(adminEnv({ ADMIN_PASSWORD: env.ADMIN_PASSWORD }).password).toBe(env.ADMIN_PASSWORD);
    // Next time they are found (Next loads the file), nothing is generated again.
    expect(ensureDevSecrets(dir, env)).toEqual([]);
    expect(readFileSync(file, "utf8")).toBe(text);
  });

  test("never overrides a value the developer set", () => {
    const dir = mkdtempSync(join(tmpdir(), "dev-secrets-"));
    writeFileSync(join(dir, ".env.development.local"), "# mine\n");
    const env: Record<string, string | undefined> = { ADMIN_PASSWORD: "my own password" };
    expect(ensureDevSecrets(dir, env)).toEqual(["REVALIDATION_SECRET"]);
    expect(env.ADMIN_PASSWORD).toBe("my own password");
    expect(readFileSync(join(dir, ".env.development.local"), "utf8")).toMatch(
      /^# mine\nREVALIDATION_SECRET=/,
    );
  });
});

test("production refuses the generated values, naming the variable; development accepts them", () => {
  const secret = `dev-only-${"x".repeat(43)}`;
  expect(() => revalidationEnv({ NODE_ENV: "production", REVALIDATION_SECRET: secret })).toThrow(ConfigError);
  expect(() => revalidationEnv({ NODE_ENV: "production", REVALIDATION_SECRET: secret })).toThrow(
    /REVALIDATION_SECRET: holds a development-only value/,
  );
  expect(() => adminEnv({ NODE_ENV: "production", ADMIN_PASSWORD: "dev-only-abcdefgh" })).toThrow(
    /ADMIN_PASSWORD/,
  );
  expect(revalidationEnv({ NODE_ENV: "development", REVALIDATION_SECRET: secret }).secrets).toEqual([secret]);
});

test("devPort reads -p, --port, --port=, then PORT, then 3000", () => {
  expect(devPort(["dev", "-p", "4001"], {})).toBe(4001);
  expect(devPort(["dev", "--port", "4002"], {})).toBe(4002);
  expect(devPort(["dev", "--port=4003"], {})).toBe(4003);
  expect(devPort(["dev"], { PORT: "4004" })).toBe(4004);
  expect(devPort(["dev"], {})).toBe(3000);
  expect(devPort(["dev", "-p", "nope"], {})).toBe(3000);
});

test("the recorded dev server is found while its process lives, and forgotten after", () => {
  const dir = mkdtempSync(join(tmpdir(), "dev-server-"));
  const forget = recordDevServer(dir, "http://localhost:4321");
  expect(recordedDevServer(dir)).toBe("http://localhost:4321");
  forget();
  expect(recordedDevServer(dir)).toBeUndefined();
  writeFileSync(join(dir, ".data", "dev-server.json"), JSON.stringify({ url: "http://x", pid: 2 ** 22 + 7 }));
  expect(recordedDevServer(dir)).toBeUndefined();
});
