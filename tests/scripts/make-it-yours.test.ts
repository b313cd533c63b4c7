/**
 * The README's "Make it yours" stays true: on a fresh copy of the repository, run the section's
 * delete command as written, make its five edits, and the rest must still typecheck and lint. The
 * remaining tests were run that way by hand (the README says when); this keeps the steps from
 * drifting as the code changes, at the cost of one `tsc` and one `biome` run on the copy.
 *
 * If an edit below no longer applies, the code it edits has changed: update the README's step
 * and this test together.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshCopy, repositoryRoot } from "../setup/fresh-copy";

/** The first ```sh block of the README's "Make it yours" section. */
function deleteCommand(readme: string): string {
  const section = readme.split(/^## /m).find((part) => part.startsWith("Make it yours"));
  if (!section) throw new Error('README.md has no "## Make it yours" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('"Make it yours" has no ```sh block');
  return block;
}

/** One of the README's edits: `from` must be in the file, exactly once. */
function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const path = join(dir, file);
  const text = readFileSync(path, "utf8");
  const matches = typeof from === "string" ? text.split(from).length - 1 : (text.match(from) ?? []).length;
  if (matches !== 1) {
    throw new Error(`README "Make it yours": the edit of ${file} no longer applies (${matches} matches).`);
  }
  writeFileSync(path, text.replace(from, to));
}

// Copying the repository and running tsc on it takes a while on a small machine.
describe("the README's Make it yours", { timeout: 240_000 }, () => {
  let dir = "";
  beforeAll(() => {
    dir = freshCopy("make-it-yours-");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("deletes the demo with its one command", () => {
    const command = deleteCommand(readFileSync(join(repositoryRoot, "README.md"), "utf8"));
    const result = spawnSync("sh", ["-e", "-c", command], { cwd: dir, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    for (const gone of ["app/posts", "lib/posts.ts", "lib/seed.ts", "e2e/revalidate.spec.ts"]) {
      expect(existsSync(join(dir, gone)), gone).toBe(false);
    }
  });

  it("makes its five edits", () => {
    // lib/tags.ts: delete `post` and `comments` from ENTITIES, and their aliases.
    edit(dir, "lib/tags.ts", /\n {2}post: \{\n[\s\S]*?\n {2}comments: \{[\s\S]*?\n {2}\},\n/, "\n");
    edit(dir, "lib/tags.ts", /export const postTags = [\s\S]*?\n\};\n/, "");
    // next.config.ts: the seeding import and call.
    edit(dir, "next.config.ts", /import \{ seedDemoOnStart \} from "\.\/lib\/seed";\n/, "");
    edit(dir, "next.config.ts", /\n(?: {2}\/\/[^\n]*\n)* {2}await seedDemoOnStart\(\);\n/, "\n");
    // app/admin/page.tsx: the PostList import and its line.
    edit(dir, "app/admin/page.tsx", /import \{ PostList \} from "\.\/post-list";\n/, "");
    edit(dir, "app/admin/page.tsx", /\n(?: *\{\/\*[^\n]*\*\/\}\n)? *<PostList \/>\n/, "\n");
    // app/page.tsx: your home page.
    writeFileSync(
      join(dir, "app/page.tsx"),
      "export default function HomePage() {\n  return <h1>Home</h1>;\n}\n",
    );
    // package.json: the scripts of the deleted tools.
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    for (const name of ["cms", "preview-link", "bench"]) {
      expect(pkg.scripts[name], name).toBeDefined();
      delete pkg.scripts[name];
    }
    writeFileSync(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  });

  it("leaves a project that typechecks and lints", () => {
    const bin = (name: string) => join(dir, "node_modules", ".bin", name);
    const tsc = spawnSync(bin("tsc"), ["--noEmit", "--incremental", "false"], { cwd: dir, encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
    const lint = spawnSync(bin("biome"), ["check", "."], { cwd: dir, encoding: "utf8" });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  });
});
