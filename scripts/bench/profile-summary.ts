/**
 * `npx tsx scripts/bench/profile-summary.ts <file.cpuprofile> [--top 25]`: where a `next start`
 * CPU profile (BENCH_CPU_PROF=1) spent its time. Self time grouped by where the code comes from
 * (this project, Next's server, undici, @upstash/redis, jose, zod, Node's internals …) and the top
 * functions by self time, so a before/after comparison of the receiver is one command each.
 */
import { readFileSync } from "node:fs";

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

/** Where a frame's code comes from, by its URL. */
export function originOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg === "next") {
    if (url.includes("compiled/undici") || url.includes("undici")) return "undici (Next's copy)";
    if (url.includes("patch-fetch")) return "next: instrumented fetch";
    if (url.includes("compiled/")) return `next: ${/compiled\/([^/]+)/.exec(url)?.[1] ?? "compiled"}`;
    return "next: server";
  }
  if (pkg) return pkg;
  if (url.startsWith("node:internal/deps/undici") || url.includes("undici")) return "undici (Node's fetch)";
  if (url.startsWith("node:internal/webstreams")) return "node: web streams";
  if (url.startsWith("node:")) return `node: ${url.slice(5).split("/").slice(0, 2).join("/")}`;
  if (url.includes("/.next/server/chunks/") || url.includes("/.next/")) return "app bundle (.next)";
  return "other";
}

export function summarize(profile: Profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const origins = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, micros] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const origin = originOf(url, functionName);
    origins.set(origin, (origins.get(origin) ?? 0) + micros);
    const name = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/\.next\//, ".next/")}:${lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
  }
  // Inclusive time: a function's self time plus everything it called, counted once per stack
  // (a recursive or repeated frame below itself is not counted twice).
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const frameName = (node: Node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    return `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/\.next\//, ".next/")}:${lineNumber + 1}`;
  };
  const inclusive = new Map<string, number>();
  for (const [id, micros] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (!node) break;
      const name = frameName(node);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
    }
  }
  const sorted = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: total / 1000,
    inclusive: sorted(inclusive)
      .slice(0, top * 2)
      .map(([fn, us]) => ({ fn, ms: us / 1000, share: us / total })),
    origins: sorted(origins).map(([origin, us]) => ({ origin, ms: us / 1000, share: us / total })),
    functions: sorted(functions)
      .slice(0, top)
      .map(([fn, us]) => ({ fn, ms: us / 1000, share: us / total })),
  };
}

if (process.argv[1]?.endsWith("profile-summary.ts")) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: npx tsx scripts/bench/profile-summary.ts <file.cpuprofile> [--top N]");
    process.exit(2);
  }
  const topIndex = process.argv.indexOf("--top");
  const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 25;
  const summary = summarize(JSON.parse(readFileSync(file, "utf8")) as Profile, top);
  const pctOf = (share: number) => `${(share * 100).toFixed(1).padStart(5)} %`;
  console.log(`total sampled: ${Math.round(summary.totalMs)} ms\n\nby origin (self time):`);
  for (const o of summary.origins)
    console.log(`${pctOf(o.share)}  ${Math.round(o.ms).toString().padStart(7)} ms  ${o.origin}`);
  console.log(`\ntop ${top * 2} functions (inclusive time: self and everything they called):`);
  for (const f of summary.inclusive)
    console.log(`${pctOf(f.share)}  ${Math.round(f.ms).toString().padStart(7)} ms  ${f.fn}`);
  console.log(`\ntop ${top} functions (self time):`);
  for (const f of summary.functions)
    console.log(`${pctOf(f.share)}  ${Math.round(f.ms).toString().padStart(7)} ms  ${f.fn}`);
}
