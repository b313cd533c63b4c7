/** The machine a run measured on, for the report. */
import { readFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";

export type MachineInfo = {
  cpu: string;
  cores: number;
  memoryBytes: number;
  node: string;
  os: string;
  next: string;
  loadAverage: number[];
};

function osName(): string {
  try {
    const text = readFileSync("/etc/os-release", "utf8");
    const name = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1];
    return `${name ?? process.platform}, Linux ${release()}`;
  } catch {
    return `${process.platform} ${release()}`;
  }
}

function nextVersion(root: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(root, "node_modules", "next", "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function machineInfo(root: string): MachineInfo {
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown CPU",
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    node: process.version,
    os: osName(),
    next: nextVersion(root),
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
