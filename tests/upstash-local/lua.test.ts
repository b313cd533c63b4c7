/** The rewrite that makes Upstash's `#!lua flags=allow-key-locking` scripts acceptable to stock Redis. */
import { describe, expect, it } from "vitest";
import { rewriteScript, ScriptRegistry, sha1 } from "@/scripts/upstash-local/lua";

describe("rewriteScript", () => {
  it("drops a shebang whose only flag is allow-key-locking, keeping line numbers", () => {
    expect(rewriteScript("#!lua flags=allow-key-locking\nreturn 1", true)).toBe("\nreturn 1");
  });

  it("keeps the flags Redis knows", () => {
    expect(rewriteScript("#!lua flags=no-writes,allow-key-locking\nreturn 1", true)).toBe(
      "#!lua flags=no-writes\nreturn 1",
    );
    expect(rewriteScript("#!lua flags=no-writes\nreturn 1", true)).toBe("#!lua flags=no-writes\nreturn 1");
    expect(rewriteScript("#!lua\nreturn 1", true)).toBe("#!lua\nreturn 1");
  });

  it("drops any shebang for an engine whose Lua cannot parse one", () => {
    expect(rewriteScript("#!lua flags=no-writes\r\nreturn 1", false)).toBe("\r\nreturn 1");
  });

  it("leaves scripts without a shebang, and look-alikes, untouched", () => {
    for (const script of ["return 1", "-- #!lua flags=allow-key-locking\nreturn 1", "#!luax\nreturn 1"]) {
      expect(rewriteScript(script, true)).toBe(script);
    }
  });
});

describe("ScriptRegistry", () => {
  const script = "#!lua flags=allow-key-locking\nreturn ARGV[1]";
  const rewritten = "\nreturn ARGV[1]";

  it("sends the rewritten text and maps the original sha for EVALSHA and SCRIPT EXISTS", () => {
    const registry = new ScriptRegistry(true);
    expect(registry.translate(["EVALSHA", sha1(script), "0"]).command).toEqual([
      "EVALSHA",
      sha1(script),
      "0",
    ]);
    expect(registry.translate(["eval", script, "0", "x"]).command).toEqual(["eval", rewritten, "0", "x"]);
    expect(registry.translate(["evalsha", sha1(script), "0"]).command).toEqual([
      "evalsha",
      sha1(rewritten),
      "0",
    ]);
    expect(registry.translate(["SCRIPT", "EXISTS", sha1(script), "abc"]).command).toEqual([
      "SCRIPT",
      "EXISTS",
      sha1(rewritten),
      "abc",
    ]);
  });

  it("answers SCRIPT LOAD with the original sha and forgets everything on SCRIPT FLUSH", () => {
    const registry = new ScriptRegistry(true);
    const load = registry.translate(["script", "load", script]);
    expect(load.command).toEqual(["script", "load", rewritten]);
    expect(load.fixReply?.(Buffer.from(sha1(rewritten)))).toEqual(Buffer.from(sha1(script)));
    registry.translate(["SCRIPT", "FLUSH"]).fixReply?.(Buffer.from("OK"));
    expect(registry.translate(["EVALSHA", sha1(script), "0"]).command[1]).toBe(sha1(script));
  });
});
