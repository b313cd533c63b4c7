/**
 * `npm run lockfile:complete`: adds the other platforms' native packages to package-lock.json.
 *
 * Why: `next` and `@biomejs/biome` ship their native binaries as optional packages, one per
 * platform (`@next/swc-darwin-arm64`, `@biomejs/cli-win32-x64`, …). When the registry that
 * generated the lockfile lacks some of them (a partial mirror, as on this project's build
 * machines), npm leaves them out of the lockfile, and then `npm ci` refuses to run on ANY machine:
 * "Missing: @next/swc-darwin-arm64@ from lock file". An entry needs only the version and the
 * platform fields: npm ci skips it on other platforms and fetches it by version on its own.
 *
 * Only exact versions whose platform is certain from the package name are added; anything else is
 * reported and left for a person. Run it after `npm install` changes the lockfile.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

type Entry = {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
};

const OS = ["darwin", "win32", "linux", "android", "freebsd", "openbsd", "netbsd", "sunos", "aix"];
const CPU = ["x64", "arm64", "ia32", "arm", "ppc64", "s390x", "riscv64", "loong64", "mips64el"];

function platformOf(name: string): Pick<Entry, "os" | "cpu" | "libc"> | undefined {
  const parts = name.split("/").pop()?.split("-") ?? [];
  const os = OS.find((o) => parts.includes(o));
  const cpu = CPU.find((c) => parts.includes(c));
  if (!os || !cpu) return undefined;
  const libc = parts.includes("musl")
    ? ["musl"]
    : os === "linux" && parts.includes("gnu")
      ? ["glibc"]
      : undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc } : {}) };
}

const file = path.resolve(import.meta.dirname, "..", "package-lock.json");
const lock = JSON.parse(readFileSync(file, "utf8")) as { packages: Record<string, Entry> };
const added: string[] = [];
const unsure: string[] = [];

for (const [, entry] of Object.entries(lock.packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key]) continue;
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(range)) {
      unsure.push(`${name}@${range}`);
      continue;
    }
    // Fields in npm's own order (version, then the rest alphabetically: cpu, dev, libc, optional, os),
    // so that a later `npm install` leaves the file as it is.
    const fields: Entry = { ...(entry.dev ? { dev: true } : {}), optional: true, ...platform };
    lock.packages[key] = {
      version: range,
      ...Object.fromEntries(Object.entries(fields).sort(([a], [b]) => a.localeCompare(b))),
    };
    added.push(`${name}@${range}`);
  }
}

// npm writes packages sorted by path; keep the file diff-friendly.
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
// Packages in npm's order (the root "" first, then by path), or the next `npm install` rewrites the file.
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `Added to package-lock.json:\n  ${added.join("\n  ")}` : "Nothing to add.");
if (unsure.length) console.log(`Left alone (platform or version not certain):\n  ${unsure.join("\n  ")}`);
