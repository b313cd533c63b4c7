/**
 * Several `next start` instances of one build on one machine, behind a round-robin front
 * (front.ts): what a self-hosted deployment with a load balancer looks like, small enough for a
 * laptop, the e2e suite and the benchmark. Not deployed.
 *
 * Each instance serves its own copy of the build (`NEXT_DIST_DIR=.next-cluster-i1`, see
 * next.config.ts), as separate servers would: nothing one instance writes to its build folder
 * (regenerated pages) is seen by another. All instances get the same environment: the same Redis,
 * the same secrets and one Server Actions encryption key, so a form rendered by one instance can be
 * posted to another. Redis comes from the caller (`env`); `npm run cluster` starts a local endpoint
 * when there are no Upstash variables.
 *
 * Every instance runs in its own process group, so stopping it stops everything it started; every
 * wait is bounded.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { hasRedisCredentials } from "../../lib/env";
import { freePort } from "../upstash-local/engine";
import { type Front, startFront, type Target } from "./front";

export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NEXT_CLI = join(PROJECT_ROOT, "node_modules", "next", "dist", "bin", "next");
/** Copies live under names `.gitignore` already covers (`.next-*`). */
export const DEFAULT_DIR_PREFIX = ".next-cluster";
const STOP_GRACE_MS = 5000;

export type InstanceInfo = {
  /** `i1`, `i2`, …: what `x-served-by` says and `x-cluster-instance` pins. */
  id: string;
  port: number;
  /** The instance's own URL, bypassing the front. */
  url: string;
  /** Its copy of the build, absolute. */
  distDir: string;
  running: boolean;
  pid: number | undefined;
  logFile: string;
};

export type ClusterOptions = {
  /** The environment of every instance (and of the build): Redis URL and token, secrets, limits. */
  env: NodeJS.ProcessEnv;
  /** How many instances to start. Default 3. */
  instances?: number;
  /** The build to copy, relative to the project or absolute. Default `.next`. */
  buildDir?: string;
  /** Use `buildDir` as it is (it must hold a build) instead of running `next build` into it first. */
  reuseBuild?: boolean;
  /** Instance ports, in order; missing ones are picked free. */
  ports?: readonly number[];
  /** The front's port; 0 (default) picks a free one. */
  frontPort?: number;
  /** Per-instance copies are `<prefix>-i1`, …; logs go to `<prefix>-logs/`. Must start with `.next-`. */
  dirPrefix?: string;
  /** A path every instance answers once it serves requests, without reading cached data. */
  readyPath?: string;
  startTimeoutMs?: number;
  buildTimeoutMs?: number;
  /** Leave the per-instance build copies on disk after close() (the logs always stay). */
  keepCopies?: boolean;
  log?: (line: string) => void;
};

export type Cluster = {
  /** The round-robin front: `x-served-by` on every response, `x-cluster-instance: i2` pins. */
  readonly frontUrl: string;
  /** The environment instances run with (without NEXT_DIST_DIR), e.g. to build another deploy. */
  readonly env: NodeJS.ProcessEnv;
  instances(): InstanceInfo[];
  instance(id: string): InstanceInfo;
  /** Stops one instance (SIGTERM to its process group, SIGKILL after 5 s). */
  stop(id: string): Promise<void>;
  /**
   * Starts a stopped instance on its port from its own copy, or, with `fromBuild`, from a fresh copy
   * of another build (a new deploy on that server). `env` is added to the cluster's environment for
   * this start only (e.g. SHARED_TAG_STATE=off to compare with and without a layer).
   */
  start(
    id: string,
    options?: { fromBuild?: string; env?: Record<string, string | undefined> },
  ): Promise<void>;
  /** Stop, then start from the same copy: a process restart, build folder kept. */
  restart(id: string): Promise<void>;
  /** A new instance (next id) from a copy of `fromBuild` (default: the cluster's build), joining the rotation. */
  add(options?: {
    fromBuild?: string;
    port?: number;
    env?: Record<string, string | undefined>;
  }): Promise<InstanceInfo>;
  /** Stops every instance and the front, and removes the build copies unless `keepCopies`. */
  close(): Promise<void>;
};

type Instance = {
  id: string;
  port: number;
  distDir: string;
  logFile: string;
  child: ChildProcess | undefined;
};

function absolute(path: string): string {
  return isAbsolute(path) ? path : join(PROJECT_ROOT, path);
}

function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone already.
  }
}

/** Runs `next` with `args` in its own process group, output appended to `logFile`. */
function spawnNext(args: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const fd = openSync(logFile, "a");
  try {
    return spawn(process.execPath, [NEXT_CLI, ...args], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ["ignore", fd, fd],
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit) => {
    child.once("exit", (code) => resolveExit(code));
    child.once("error", () => resolveExit(-1));
  });
}

/** SIGTERM to the process group, SIGKILL once `graceMs` have passed; resolves when it has exited (bounded). */
async function stopGroup(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || !isRunning(child)) return;
  const exited = exitOf(child);
  signalGroup(pid, "SIGTERM");
  const inTime = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!inTime) {
    signalGroup(pid, "SIGKILL");
    await Promise.race([exited, sleep(2000)]);
  }
  // Anything the leader started and left behind in its group.
  signalGroup(pid, "SIGKILL");
}

// Next rewrites tsconfig.json's `include` and next-env.d.ts to point at the build folder it writes;
// a build into a side folder must leave the project's own files as they were.
const FILES_NEXT_REWRITES = ["tsconfig.json", "next-env.d.ts"];

/**
 * `next build` into `distDir` (relative to the project, under `.next-*` unless it is `.next`), with
 * `env`. Rejects with the end of the log when the build fails or takes longer than `timeoutMs`.
 */
export async function buildApp(options: {
  distDir: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs?: number;
}): Promise<void> {
  const distDir = relative(PROJECT_ROOT, absolute(options.distDir)) || ".next";
  const saved = FILES_NEXT_REWRITES.map((name) => {
    const path = join(PROJECT_ROOT, name);
    return { path, text: existsSync(path) ? readFileSync(path, "utf8") : undefined };
  });
  const child = spawnNext(["build"], { ...options.env, NEXT_DIST_DIR: distDir }, options.logFile);
  const timeoutMs = options.timeoutMs ?? 600_000;
  try {
    const code = await Promise.race([exitOf(child), sleep(timeoutMs).then(() => "timeout" as const)]);
    if (code === "timeout") {
      await stopGroup(child);
      throw new Error(
        `next build into ${distDir} took longer than ${timeoutMs / 1000} s; log: ${options.logFile}`,
      );
    }
    if (code !== 0) {
      throw new Error(`next build into ${distDir} failed (exit ${code}):\n${tail(options.logFile)}`);
    }
  } finally {
    if (distDir !== ".next") {
      for (const { path, text } of saved) {
        if (text === undefined) rmSync(path, { force: true });
        else if (readFileSync(path, "utf8") !== text) writeFileSync(path, text);
      }
    }
  }
}

/**
 * A fresh copy of a build for one instance. `cache/` (the build's compiler cache, most of the
 * bytes) is left out: `next start` does not read it and creates its own.
 */
export function copyBuild(from: string, to: string): void {
  const source = absolute(from);
  const target = absolute(to);
  if (!existsSync(join(source, "BUILD_ID"))) throw new Error(`${source} holds no build (no BUILD_ID)`);
  if (!basename(target).startsWith(".next-")) {
    throw new Error(`instance copies must be named .next-*, so git ignores them; got ${target}`);
  }
  rmSync(target, { recursive: true, force: true });
  cpSync(source, target, {
    recursive: true,
    filter: (path) => resolve(path) !== join(source, "cache") && resolve(path) !== join(source, "dev"),
  });
}

async function waitUntilAnswering(instance: Instance, readyPath: string, timeoutMs: number): Promise<void> {
  const url = `http://127.0.0.1:${instance.port}${readyPath}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(instance.child)) {
      throw new Error(
        `instance ${instance.id} exited before it answered at ${url}:\n${tail(instance.logFile)}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(
    `instance ${instance.id} did not answer at ${url} within ${timeoutMs / 1000} s:\n${tail(instance.logFile)}`,
  );
}

/** Builds (or reuses) once, copies the build per instance, starts them and the front, and waits until all answer. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const log = options.log ?? ((line: string) => console.error(`[cluster] ${line}`));
  const count = options.instances ?? 3;
  const prefix = options.dirPrefix ?? DEFAULT_DIR_PREFIX;
  if (!basename(prefix).startsWith(".next-"))
    throw new Error(`dirPrefix must start with .next- (git-ignored); got ${prefix}`);
  const readyPath = options.readyPath ?? "/robots.txt";
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  if (!hasRedisCredentials(options.env)) {
    throw new Error(
      "the cluster needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN in env: every instance must use one Redis",
    );
  }
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    // One key for every instance and every build of this cluster: an action encrypted by one
    // instance must decrypt on the others (Next generates one per build otherwise).
    NEXT_SERVER_ACTIONS_ENCRYPTION_KEY:
      options.env.NEXT_SERVER_ACTIONS_ENCRYPTION_KEY || randomBytes(32).toString("base64"),
    NEXT_DIST_DIR: undefined,
    NODE_ENV: "production",
  };
  const logDir = absolute(`${prefix}-logs`);
  mkdirSync(logDir, { recursive: true });

  const buildDir = options.buildDir ?? ".next";
  if (options.reuseBuild) {
    if (!existsSync(join(absolute(buildDir), "BUILD_ID"))) {
      throw new Error(`reuseBuild: ${absolute(buildDir)} holds no build; run next build first`);
    }
    log(`reusing the build in ${buildDir}`);
  } else {
    log(`next build into ${buildDir} …`);
    const started = performance.now();
    await buildApp({
      distDir: buildDir,
      env,
      logFile: join(logDir, "build.log"),
      timeoutMs: options.buildTimeoutMs,
    });
    log(`built in ${Math.round((performance.now() - started) / 1000)} s`);
  }

  const instances: Instance[] = [];
  let front: Front | undefined;
  const killAllNow = () => {
    for (const instance of instances) {
      if (isRunning(instance.child) && instance.child.pid !== undefined)
        signalGroup(instance.child.pid, "SIGKILL");
    }
  };
  // The last resort if the caller exits without close(): no instance outlives it.
  process.on("exit", killAllNow);

  const info = (instance: Instance): InstanceInfo => ({
    id: instance.id,
    port: instance.port,
    url: `http://127.0.0.1:${instance.port}`,
    distDir: instance.distDir,
    running: isRunning(instance.child),
    pid: isRunning(instance.child) ? instance.child.pid : undefined,
    logFile: instance.logFile,
  });
  const find = (id: string): Instance => {
    const instance = instances.find((i) => i.id === id);
    if (!instance) throw new Error(`no instance ${id}; known: ${instances.map((i) => i.id).join(", ")}`);
    return instance;
  };

  async function launch(
    instance: Instance,
    extraEnv: Record<string, string | undefined> = {},
  ): Promise<void> {
    if (isRunning(instance.child)) throw new Error(`instance ${instance.id} is already running`);
    writeFileSync(
      instance.logFile,
      `--- next start ${new Date().toISOString()} (${relative(PROJECT_ROOT, instance.distDir)})\n`,
      {
        flag: "a",
      },
    );
    const child = spawnNext(
      ["start", "-H", "127.0.0.1", "-p", String(instance.port)],
      { ...env, ...extraEnv, NEXT_DIST_DIR: relative(PROJECT_ROOT, instance.distDir) },
      instance.logFile,
    );
    instance.child = child;
    await waitUntilAnswering(instance, readyPath, startTimeoutMs);
  }

  async function stop(id: string): Promise<void> {
    const instance = find(id);
    if (instance.child) await stopGroup(instance.child);
  }

  async function create(fromBuild: string, port: number | undefined): Promise<Instance> {
    const id = `i${instances.length + 1}`;
    const instance: Instance = {
      id,
      port: port ?? (await freePort()),
      distDir: absolute(`${prefix}-${id}`),
      logFile: join(logDir, `${id}.log`),
      child: undefined,
    };
    copyBuild(fromBuild, instance.distDir);
    instances.push(instance);
    return instance;
  }

  async function close(): Promise<void> {
    await Promise.all(instances.map((instance) => (instance.child ? stopGroup(instance.child) : undefined)));
    await front?.close();
    process.off("exit", killAllNow);
    if (!options.keepCopies) {
      for (const instance of instances) rmSync(instance.distDir, { recursive: true, force: true });
    }
  }

  try {
    for (let i = 0; i < count; i++) await create(buildDir, options.ports?.[i]);
    // Started together: on a small machine each takes a few seconds of CPU to come up.
    await Promise.all(instances.map((instance) => launch(instance)));
    front = await startFront({
      port: options.frontPort ?? 0,
      targets: () =>
        instances.map(
          (instance): Target => ({
            id: instance.id,
            port: instance.port,
            running: isRunning(instance.child),
          }),
        ),
    });
  } catch (error) {
    await close();
    throw error;
  }
  const frontUrl = front.url;
  log(`${count} instances (${instances.map((i) => `${i.id} :${i.port}`).join(", ")}) behind ${frontUrl}`);

  return {
    frontUrl,
    env,
    instances: () => instances.map(info),
    instance: (id) => info(find(id)),
    stop,
    async start(id, startOptions) {
      const instance = find(id);
      if (startOptions?.fromBuild) {
        await stop(id);
        copyBuild(startOptions.fromBuild, instance.distDir);
      }
      await launch(instance, startOptions?.env);
    },
    async restart(id) {
      await stop(id);
      await launch(find(id));
    },
    async add(addOptions) {
      const instance = await create(addOptions?.fromBuild ?? buildDir, addOptions?.port);
      await launch(instance, addOptions?.env);
      return info(instance);
    },
    close,
  };
}
