/** Runs one autocannon load in a forked child process (load-worker.ts) and returns its summary. */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { onCleanup } from "./processes";

export type LoadSpec = {
  url: string;
  connections: number;
  durationSeconds: number;
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  /** Sent with every request; `{{n}}` becomes a counter, so each request can carry its own ID. */
  body?: string;
};

export type LoadSummary = {
  /** Mean of the per-second samples, as autocannon reports it. */
  requestsPerSecond: number;
  /** Milliseconds, over 2xx responses. */
  latency: { average: number; p50: number; p90: number; p99: number; max: number };
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  durationSeconds: number;
};

type WorkerReply = { ok: true; summary: LoadSummary } | { ok: false; error: string };

const workerPath = fileURLToPath(new URL("../load-worker.ts", import.meta.url));

export function runLoad(spec: LoadSpec): Promise<LoadSummary> {
  // Forked with this process's execArgv, which under tsx includes its loader.
  const child = fork(workerPath, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  onCleanup("load generator", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return new Promise((resolveLoad, reject) => {
    let settled = false;
    child.once("message", (reply: WorkerReply) => {
      settled = true;
      if (reply.ok) resolveLoad(reply.summary);
      else reject(new Error(`load generator: ${reply.error}`));
    });
    child.once("exit", (code) => {
      if (!settled) reject(new Error(`load generator exited (${code}) without a result`));
    });
    child.send(spec);
  });
}
