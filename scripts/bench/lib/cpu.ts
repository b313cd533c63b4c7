/**
 * CPU time of processes, from /proc (Linux), to attribute a load run's CPU to the server under
 * test, the local Upstash endpoint (this process) and redis-server.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { processTree } from "./processes";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU of one process, in milliseconds; 0 once it has exited. */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted from the state field (3).
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks()) * 1000;
  } catch {
    return 0;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

export type CpuParts = { server: number; endpoint: number; redis: number };

/** The redis-server this process started (the local endpoint's engine), if any. */
export function redisServerPid(): number | undefined {
  return processTree(process.pid).find((pid) => commandOf(pid) === "redis-server");
}

/** A snapshot of the CPU used so far by the server's tree, this process and redis-server. */
export function cpuSnapshot(serverPid: number, redisPid: number | undefined): CpuParts {
  const server = processTree(serverPid).reduce((sum, pid) => sum + cpuOf(pid), 0);
  const usage = process.cpuUsage();
  return {
    server,
    endpoint: (usage.user + usage.system) / 1000,
    redis: redisPid === undefined ? 0 : cpuOf(redisPid),
  };
}

/** CPU milliseconds per request between two snapshots. */
export function cpuPerRequest(before: CpuParts, after: CpuParts, requests: number): CpuParts {
  const per = (key: keyof CpuParts) => (requests > 0 ? (after[key] - before[key]) / requests : Number.NaN);
  return { server: per("server"), endpoint: per("endpoint"), redis: per("redis") };
}
