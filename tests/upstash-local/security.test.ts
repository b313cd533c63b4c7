/**
 * The local endpoint is safe to leave running: a random token per start, loopback Host names only,
 * no browsers (Origin), only the allowlisted commands (also from Lua, on a redis-server it started),
 * loopback binds only. And builds and starts never guess a database (scripts/upstash-local/policy.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALLOWED_COMMANDS, commandRefusal } from "@/scripts/upstash-local/allowed-commands";
import {
  readEndpointFile,
  removeEndpointFile,
  writeEndpointFile,
} from "@/scripts/upstash-local/endpoint-file";
import { localEndpointRefusal } from "@/scripts/upstash-local/policy";
import { isLoopbackHostHeader, probeLocalUpstash, startLocalUpstash } from "@/scripts/upstash-local/server";
import { ENGINES, post, uniquePrefix, useEndpoint } from "./helpers";
import { rawPost as rawHttpPost } from "./raw-post";

/** A raw HTTP request, so the test can set Host; the endpoint always answers JSON. */
async function rawPost(url: string, headers: Record<string, string>, body: unknown) {
  const { status, text } = await rawHttpPost(url, headers, body);
  return { status, body: JSON.parse(text) as unknown };
}

describe("the token", () => {
  it("is random per start; the old well-known local-dev-token is refused", async () => {
    const [a, b] = await Promise.all([
      startLocalUpstash({ engine: "in-process", log: () => {} }),
      startLocalUpstash({ engine: "in-process", log: () => {} }),
    ]);
    try {
      expect(a.token).not.toBe(b.token);
      expect(a.token.length).toBeGreaterThanOrEqual(40);
      expect(await post(a, "/", ["GET", "k"], { token: "local-dev-token" })).toEqual({
        status: 401,
        body: { error: "Unauthorized" },
      });
      expect(await post(a, "/", ["GET", "k"], { token: b.token })).toMatchObject({ status: 401 });
      expect(await probeLocalUpstash(a.url, a.token)).toBe(true);
      expect(await probeLocalUpstash(a.url, b.token)).toBe(false);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("is left for other commands in a file only this user can read", () => {
    const root = mkdtempSync(join(tmpdir(), "upstash-local-file-"));
    try {
      writeEndpointFile(root, { url: "http://127.0.0.1:8079", token: "t".repeat(43) });
      expect(readEndpointFile(root)).toMatchObject({ url: "http://127.0.0.1:8079", token: "t".repeat(43) });
      expect(statSync(join(root, ".data", "upstash-local.json")).mode & 0o777).toBe(0o600);
      removeEndpointFile(root, "another-token-of-enough-length");
      expect(readEndpointFile(root)).toBeDefined();
      removeEndpointFile(root, "t".repeat(43));
      expect(readEndpointFile(root)).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.each(ENGINES)("requests on the %s engine", (engine) => {
  const endpoint = useEndpoint(engine);

  it("DNS rebinding: a Host that is not a loopback name is refused, even with the token", async () => {
    const auth = { authorization: `Bearer ${endpoint().token}` };
    const rebound = await rawPost(endpoint().url, { ...auth, host: "rebind.attacker.example" }, ["PING"]);
    expect(rebound.status).toBe(403);
    expect(rebound.body).toEqual({ error: expect.stringContaining("Host header") });
    const port = new URL(endpoint().url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "localhost"]) {
      expect((await rawPost(endpoint().url, { ...auth, host }, ["PING"])).status).toBe(200);
    }
  });

  it("a browser request (any Origin header) is refused, even with the token", async () => {
    const res = await rawPost(
      endpoint().url,
      { authorization: `Bearer ${endpoint().token}`, origin: "http://attacker.example" },
      ["PING"],
    );
    expect(res).toEqual({ status: 403, body: { error: expect.stringContaining("Origin") } });
  });

  it("CONFIG GET dir, FLUSHALL, REPLICAOF and others are refused, naming the command and where to allow one", async () => {
    const key = `${uniquePrefix()}survivor`;
    await post(endpoint(), "/", ["SET", key, "still here"]);
    for (const command of [
      ["CONFIG", "GET", "dir"],
      ["FLUSHALL"],
      ["FLUSHDB"],
      ["REPLICAOF", "attacker.example", "6379"],
      ["SLAVEOF", "attacker.example", "6379"],
      ["SHUTDOWN"],
      ["DEBUG", "SLEEP", "1"],
      ["KEYS", "*"],
      ["SCRIPT", "FLUSH"],
    ]) {
      const res = await post(endpoint(), "/", command);
      expect({ command, status: res.status }).toEqual({ command, status: 400 });
      expect(res.body).toEqual({
        error: expect.stringMatching(
          new RegExp(
            `^ERR ${command[0]}.* is not allowed by the local Upstash endpoint.*scripts/upstash-local/allowed-commands\\.ts`,
          ),
        ),
      });
    }
    const piped = await post(endpoint(), "/pipeline", [["GET", key], ["FLUSHALL"]]);
    expect(piped.body).toEqual([
      { result: "still here" },
      { error: expect.stringContaining("FLUSHALL is not allowed") },
    ]);
    expect((await post(endpoint(), "/multi-exec", [["FLUSHALL"]])).status).toBe(400);
    expect((await post(endpoint(), "/", ["GET", key])).body).toEqual({ result: "still here" });
  });

  it.skipIf(engine === "in-process")(
    "a Lua script cannot call a refused command either (a Redis ACL user holds it to the same list)",
    // ioredis-mock has no ACLs; its Lua only reaches its own in-memory data.
    async () => {
      const key = `${uniquePrefix()}survivor`;
      await post(endpoint(), "/", ["SET", key, "still here"]);
      for (const script of [
        "return redis.call('FLUSHALL')",
        "return redis.call('CONFIG', 'GET', 'dir')",
        "return redis.call('KEYS', '*')",
      ]) {
        const res = await post(endpoint(), "/", ["EVAL", script, 0]);
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          error: expect.stringMatching(/can't run this command|not allowed from script|NOPERM/),
        });
      }
      expect((await post(endpoint(), "/", ["GET", key])).body).toEqual({ result: "still here" });
      // What the app's scripts do is still allowed.
      expect(
        (await post(endpoint(), "/", ["EVAL", "return redis.call('INCR', KEYS[1])", 1, `${key}:n`])).body,
      ).toEqual({
        result: 1,
      });
    },
  );
});

describe("the allowlist", () => {
  it("covers every command the app's and ratelimit's code sends (a sample), and nothing administrative", () => {
    for (const name of [
      "GET",
      "SET",
      "EVAL",
      "EVALSHA",
      "HSET",
      "HGETALL",
      "HMGET",
      "ZADD",
      "ZRANGE",
      "MGET",
      "INCR",
    ]) {
      expect(ALLOWED_COMMANDS.has(name)).toBe(true);
    }
    for (const name of [
      "CONFIG",
      "FLUSHALL",
      "FLUSHDB",
      "REPLICAOF",
      "SLAVEOF",
      "SHUTDOWN",
      "DEBUG",
      "MODULE",
      "ACL",
      "KEYS",
      "MIGRATE",
    ]) {
      expect(commandRefusal([name])).toMatch(
        /add it to ALLOWED_COMMANDS in scripts\/upstash-local\/allowed-commands\.ts/,
      );
    }
    expect(commandRefusal(["script", "load", "return 1"])).toBeUndefined();
    expect(commandRefusal(["SCRIPT", "KILL"])).toMatch(/SCRIPT KILL is not allowed.*ALLOWED_SUBCOMMANDS/);
  });

  it("never echoes an unprintable command name", () => {
    expect(commandRefusal(["<script>alert(1)</script>"])).toMatch(/^ERR that command is not allowed/);
  });
});

describe("binding and Host names", () => {
  it.each(["0.0.0.0", "::", "192.168.1.10"])("refuses to listen on %s", async (host) => {
    await expect(startLocalUpstash({ host, engine: "in-process", log: () => {} })).rejects.toThrow(
      /loopback only/,
    );
  });

  it.each([
    ["localhost:8079", true],
    ["127.0.0.1", true],
    ["[::1]:8079", true],
    ["LOCALHOST", true],
    ["rebind.attacker.example", false],
    ["localhost.attacker.example", false],
    ["127.0.0.1.nip.io", false],
    ["", false],
  ])("Host %j is loopback: %s", (host, expected) => {
    expect(isLoopbackHostHeader(host)).toBe(expected);
  });
});

describe("builds and starts never guess a database", () => {
  const names = /UPSTASH_REDIS_REST_URL.*KV_REST_API_URL/s;

  it.each([
    ["VERCEL=1 next build", ["next", "build"], { VERCEL: "1" }],
    [
      "VERCEL_ENV=preview next build, even with UPSTASH_LOCAL=1",
      ["next", "build"],
      { VERCEL_ENV: "preview", UPSTASH_LOCAL: "1" },
    ],
    ["NODE_ENV=production next start", ["next", "start"], { NODE_ENV: "production" }],
    ["next build on a laptop, without opting in", ["next", "build"], {}],
    ["CI=true next build, without opting in", ["next", "build"], { CI: "true" }],
  ] as const)("%s: an error that names the variables", (_, command, env) => {
    expect(localEndpointRefusal({ command: [...command], explicit: false, env })).toMatch(names);
  });

  it("on a laptop the error gives the exact command to opt in", () => {
    expect(localEndpointRefusal({ command: ["next", "start"], explicit: false, env: {} })).toContain(
      "UPSTASH_LOCAL=1 npm run build && UPSTASH_LOCAL=1 npm start",
    );
  });

  it.each([
    ["next dev", ["next", "dev"], false, {}],
    ["--local (the test harness, CI=true)", ["sh", "-c", "next build && next start"], true, { CI: "true" }],
    ["UPSTASH_LOCAL=1 next build", ["next", "build"], false, { UPSTASH_LOCAL: "1" }],
  ] as const)("%s: a local endpoint is allowed", (_, command, explicit, env) => {
    expect(localEndpointRefusal({ command: [...command], explicit, env })).toBeUndefined();
  });

  it("VERCEL=1 npm run build with no database variables fails before building, saying what to set", () => {
    // Blank counts as unset, as in lib/env.ts.
    const noDatabase = {
      UPSTASH_REDIS_REST_URL: "",
      UPSTASH_REDIS_REST_TOKEN: "",
      KV_REST_API_URL: "",
      KV_REST_API_TOKEN: "",
    };
    const result = spawnSync("npx", ["tsx", "scripts/with-local-redis.ts", "next", "build"], {
      env: { ...process.env, ...noDatabase, VERCEL: "1" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/VERCEL says this is a deployment.*UPSTASH_REDIS_REST_URL/s);
    expect(result.stderr).not.toContain("local Redis endpoint runs at");
  }, 60_000);
});

describe("npm run redis:local and a second command find each other without a well-known token", () => {
  const root = process.cwd();
  const file = join(root, ".data", "upstash-local.json");

  // Skipped when a developer's own endpoint is running: the test would replace its file.
  it.skipIf(existsSync(file))(
    "the CLI prints a fresh token and leaves it in .data/upstash-local.json; with-local-redis reuses that endpoint",
    async () => {
      // Its own process group, so the interrupt below reaches tsx's child as Ctrl-C would.
      const cli = spawn(
        join(root, "node_modules", ".bin", "tsx"),
        ["scripts/upstash-local/cli.ts", "--port", "0", "--ephemeral", "--engine", "in-process"],
        { stdio: ["ignore", "pipe", "ignore"], detached: true },
      );
      const exited = new Promise((resolveExit) => cli.once("exit", resolveExit));
      try {
        let output = "";
        cli.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString("utf8");
        });
        const deadline = Date.now() + 30_000;
        while (!output.includes("Press Ctrl-C") && Date.now() < deadline) {
          await new Promise((resolveWait) => setTimeout(resolveWait, 100));
        }
        const token = /UPSTASH_REDIS_REST_TOKEN=(\S+)/.exec(output)?.[1];
        expect(token).toBeDefined();
        expect(token).not.toBe("local-dev-token");
        await waitFor(() => readEndpointFile(root)?.token === token, 5000, "the endpoint file");

        const child = spawnSync(
          join(root, "node_modules", ".bin", "tsx"),
          [
            "scripts/with-local-redis.ts",
            "--local",
            "node",
            "-e",
            "console.log(process.env.UPSTASH_REDIS_REST_TOKEN)",
          ],
          {
            env: {
              ...process.env,
              UPSTASH_REDIS_REST_URL: "",
              UPSTASH_REDIS_REST_TOKEN: "",
              KV_REST_API_URL: "",
              KV_REST_API_TOKEN: "",
            },
            encoding: "utf8",
            timeout: 20_000,
          },
        );
        expect(child.stderr).toContain("already running");
        expect(child.stdout.trim()).toBe(token);
      } finally {
        if (cli.pid) process.kill(-cli.pid, "SIGINT");
        await Promise.race([exited, new Promise((resolveWait) => setTimeout(resolveWait, 15_000))]);
        if (cli.exitCode === null && cli.signalCode === null && cli.pid) process.kill(-cli.pid, "SIGKILL");
      }
      expect(existsSync(file)).toBe(false);
    },
    90_000,
  );
});

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}
