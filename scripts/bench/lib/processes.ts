/**
 * Child processes and resources of one benchmark run, and their cleanup: every server and worker
 * the run starts is registered here and stopped on success, failure, Ctrl-C or SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

type CleanupTask = { label: string; run: () => Promise<void> | void };

const tasks: CleanupTask[] = [];
let cleaning: Promise<void> | undefined;

/** Registers work to undo at the end of the run (last registered, first run). */
export function onCleanup(label: string, run: () => Promise<void> | void): void {
  tasks.push({ label, run });
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const task of tasks.reverse()) {
      try {
        await task.run();
      } catch (error) {
        console.error(`[bench] cleanup of ${task.label} failed: ${String(error)}`);
      }
    }
    tasks.length = 0;
  })();
  return cleaning;
}

/** Ctrl-C and SIGTERM stop everything the run started before the process exits. */
export function cleanupOnSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      console.error(`\n[bench] ${signal}: stopping the servers this run started…`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export type Spawned = { name: string; pid: number; child: ChildProcess; exited: Promise<number | null> };

/**
 * Starts a command in its own process group (so the whole tree can be stopped), with stdout and
 * stderr going straight to `logFile`: the benchmark process never relays a server's log lines.
 */
export function spawnLogged(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Spawned {
  const fd = openSync(options.logFile, "a");
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const exited = new Promise<number | null>((resolveExit) => {
    child.once("exit", (code) => resolveExit(code));
    child.once("error", () => resolveExit(-1));
  });
  const spawned: Spawned = { name, pid: child.pid, child, exited };
  onCleanup(name, () => stopProcessGroup(spawned));
  return spawned;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM to the process group this run started, then SIGKILL if it is still there after 5 s. */
export async function stopProcessGroup(spawned: Spawned): Promise<void> {
  if (!isRunning(spawned.child)) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-spawned.pid, signal);
    } catch {
      // Already gone.
    }
  };
  signalGroup("SIGTERM");
  const stopped = await Promise.race([spawned.exited.then(() => true), sleep(5000).then(() => false)]);
  if (!stopped) signalGroup("SIGKILL");
  // Children of the group leader (if any) get the same signal; give them a moment to go.
  await sleep(100);
  signalGroup("SIGKILL");
}

/** Runs a command to completion with its output in `logFile`; rejects with the log's tail on failure. */
export async function runLogged(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Promise<void> {
  const spawned = spawnLogged(name, command, args, options);
  const code = await spawned.exited;
  if (code !== 0) {
    const tail = readFileSync(options.logFile, "utf8").split("\n").slice(-40).join("\n");
    throw new Error(`${name} failed (exit ${code}); the end of ${options.logFile}:\n${tail}`);
  }
}

/** Polls `url` until it answers (any status below 500), or fails after `timeoutMs`. */
export async function waitForHttp(url: string, spawned: Spawned, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(spawned.child)) throw new Error(`${spawned.name} exited before it answered at ${url}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`${spawned.name} did not answer at ${url} within ${timeoutMs / 1000} s`);
}

// ---------------------------------------------------------------------------------------------
// Memory of a process tree, from /proc (Linux).

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** `pid` and all its descendants that are alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const parent = parentOf(child);
    if (parent === undefined) continue;
    const list = children.get(parent) ?? [];
    list.push(child);
    children.set(parent, list);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === undefined) break;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** VmRSS and VmHWM (peak RSS) of one process, in bytes; undefined once it has exited. */
export function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
    return { rss: kib("VmRSS") * 1024, hwm: kib("VmHWM") * 1024 };
  } catch {
    return undefined;
  }
}

export type MemoryReport = {
  /** Highest sum of RSS over the process tree, sampled every `intervalMs`. */
  peakTreeRss: number;
  /** Highest VmHWM (the kernel's own peak RSS) of any process in the tree, read at the end. */
  peakProcessHwm: number;
  /** How many processes the tree had at the last sample. */
  processes: number;
  samples: number;
  intervalMs: number;
};

/** Samples the RSS of `pid`'s tree until `stop()`; `stop` must run before the tree is stopped. */
export function sampleMemory(pid: number, intervalMs = 250): { stop(): MemoryReport } {
  let peakTreeRss = 0;
  let peakProcessHwm = 0;
  let samples = 0;
  let processes = 0;
  const sample = () => {
    const tree = processTree(pid);
    let sum = 0;
    for (const member of tree) {
      const memory = memoryOf(member);
      if (!memory) continue;
      sum += memory.rss;
      peakProcessHwm = Math.max(peakProcessHwm, memory.hwm);
    }
    processes = tree.length;
    peakTreeRss = Math.max(peakTreeRss, sum);
    samples += 1;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      sample();
      clearInterval(timer);
      return { peakTreeRss, peakProcessHwm, processes, samples, intervalMs };
    },
  };
}

/** Other Next.js servers or builds running in `dir` (they would share, or clobber, its `.next`). */
export function otherNextProcesses(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      if (
        cwd.replace(/\/$/, "") === dir.replace(/\/$/, "") &&
        /next-server|next (build|start|dev)/.test(command)
      ) {
        found.push(`${entry} ${command.slice(0, 80)}`);
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}
