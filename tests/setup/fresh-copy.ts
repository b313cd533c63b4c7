/**
 * A fresh copy of the repository's files (what a clone holds: git's file list, no .env files but
 * .env.example), with node_modules hard-linked in. Shared by the first-run e2e spec and the
 * "Make it yours" test; it imports nothing from either runner.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const repositoryRoot = join(import.meta.dirname, "..", "..");

export function freshCopy(prefix = "fresh-clone-"): string {
  const root = repositoryRoot;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const files = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  }).stdout.split("\0");
  for (const file of files.filter(Boolean)) {
    if (/^\.env(?!\.example$)/.test(file)) continue;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    try {
      writeFileSync(join(dir, file), readFileSync(join(root, file)));
    } catch {
      // A file deleted in the working tree but still in the index: a clone would not have it either.
    }
  }
  // Hard links: Turbopack refuses a symlinked node_modules, and a real copy is 500 MB.
  const linked = spawnSync("cp", ["-al", join(root, "node_modules"), join(dir, "node_modules")]);
  if (linked.status !== 0) spawnSync("cp", ["-r", join(root, "node_modules"), join(dir, "node_modules")]);
  return dir;
}
