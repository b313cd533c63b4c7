/**
 * Lua scripts written for Upstash, made runnable on stock Redis.
 *
 * `@upstash/ratelimit` >= 2.1 starts its scripts with `#!lua flags=allow-key-locking`, a flag only Upstash
 * knows; Redis 7.0 refuses the script ("Unexpected flag in script shebang"). The client calls
 * `EVALSHA <sha1 of the original text>` and falls back to `EVAL` on NOSCRIPT (ratelimit-js src/hash.ts), so
 * the endpoint rewrites the text and remembers original sha -> rewritten sha. Redis stays the judge of
 * whether a script is loaded: an EVALSHA is only translated, never answered from this map, so a
 * `SCRIPT FLUSH` or a restarted Redis still yields the verbatim NOSCRIPT the client needs.
 */
import { createHash } from "node:crypto";
import type { Command, Reply } from "./protocol";

export function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

const UNKNOWN_TO_REDIS = new Set(["allow-key-locking"]);

/**
 * `keepShebang: false` drops any `#!` line, for an engine whose Lua cannot parse one (ioredis-mock's fengari).
 * The dropped line becomes an empty line so that line numbers in Lua error messages still match the source.
 */
export function rewriteScript(script: string, keepShebang: boolean): string {
  const match = /^#!lua(?:[ \t]+flags=([^\r\n]*))?[ \t]*(?=\r?\n|$)/.exec(script);
  if (!match) return script;
  const rest = script.slice(match[0].length);
  if (!keepShebang) return rest;
  const flags = (match[1] ?? "")
    .split(",")
    .map((flag) => flag.trim())
    .filter((flag) => flag !== "");
  const known = flags.filter((flag) => !UNKNOWN_TO_REDIS.has(flag));
  if (known.length === flags.length) return script;
  // A shebang without flags would still switch Redis into the stricter shebang mode; the scripts that only
  // asked for key locking were written for the legacy mode, so drop the line altogether.
  if (known.length === 0) return rest;
  return `#!lua flags=${known.join(",")}${rest}`;
}

export type Translation = { command: Command; fixReply?: (reply: Reply) => Reply };

export class ScriptRegistry {
  private readonly rewrittenByOriginal = new Map<string, string>();

  constructor(private readonly keepShebang: boolean) {}

  private register(script: string): { original: string; rewritten: string; text: string } {
    const original = sha1(script);
    const text = rewriteScript(script, this.keepShebang);
    const rewritten = text === script ? original : sha1(text);
    if (rewritten !== original) this.rewrittenByOriginal.set(original, rewritten);
    return { original, rewritten, text };
  }

  private translateSha(sha: string): string {
    return this.rewrittenByOriginal.get(sha.toLowerCase()) ?? sha;
  }

  /** Rewrites script commands on the way to Redis; every other command passes through unchanged. */
  translate(command: Command): Translation {
    const [name = "", ...args] = command;
    const upper = name.toUpperCase();
    if ((upper === "EVAL" || upper === "EVAL_RO") && args[0] !== undefined) {
      return { command: [name, this.register(args[0]).text, ...args.slice(1)] };
    }
    if ((upper === "EVALSHA" || upper === "EVALSHA_RO") && args[0] !== undefined) {
      return { command: [name, this.translateSha(args[0]), ...args.slice(1)] };
    }
    if (upper !== "SCRIPT" || args[0] === undefined) return { command };
    const sub = args[0].toUpperCase();
    if (sub === "LOAD" && args[1] !== undefined && args.length === 2) {
      const { original, text } = this.register(args[1]);
      // The client compares against the sha of the text it sent, so answer with that one.
      return {
        command: [name, args[0], text],
        fixReply: (reply) => (Buffer.isBuffer(reply) ? Buffer.from(original) : reply),
      };
    }
    if (sub === "EXISTS") {
      return { command: [name, args[0], ...args.slice(1).map((sha) => this.translateSha(sha))] };
    }
    if (sub === "FLUSH") {
      return {
        command,
        fixReply: (reply) => {
          if (!(reply instanceof Error)) this.rewrittenByOriginal.clear();
          return reply;
        },
      };
    }
    return { command };
  }
}
