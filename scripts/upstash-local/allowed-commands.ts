/**
 * The commands the local endpoint runs: what lib/ and @upstash/ratelimit send (directly and from
 * their Lua scripts), and nothing else. Anyone who reaches the endpoint with its token still cannot
 * CONFIG SET a new dir, FLUSHALL, REPLICAOF another server or SHUTDOWN it.
 *
 * The one place to extend: when your code needs another command, add its name to ALLOWED_COMMANDS
 * (or a subcommand to ALLOWED_SUBCOMMANDS) with a word on who uses it. The refusal message points
 * here. With a redis-server the endpoint started itself, the same list also becomes a Redis ACL for
 * the endpoint's connection, so a Lua script (EVAL) cannot call anything outside it either.
 */

export const ALLOWED_COMMANDS: ReadonlySet<string> = new Set([
  // strings and counters: posts, seeding, session key, ratelimit (fixed window, token bucket)
  "GET",
  "SET",
  "SETEX",
  "MGET",
  "MSET",
  "INCR",
  "INCRBY",
  "STRLEN",
  // keys and expiry: claims, ratelimit's reset (SCAN + DEL), sessions
  "DEL",
  "EXISTS",
  "EXPIRE",
  "PEXPIRE",
  "TTL",
  "PTTL",
  "TYPE",
  "SCAN",
  // hashes: revalidation claims, ratelimit state
  "HGET",
  "HSET",
  "HSETNX",
  "HMGET",
  "HGETALL",
  "HDEL",
  // the revalidation activity counters (lib/revalidation/activity.ts)
  "HINCRBY",
  // lists: comments, the recent-revalidations log
  "LPUSH",
  "RPUSH",
  "LRANGE",
  "LTRIM",
  "LLEN",
  // sorted sets: the post index
  "ZADD",
  "ZRANGE",
  "ZRANGEBYSCORE",
  "ZREM",
  "ZCARD",
  // sets: ratelimit's deny list
  "SMISMEMBER",
  // pub/sub: the shared tag state announces each change (lib/shared-tags/store.ts, from Lua)
  "PUBLISH",
  // scripts: the claim scripts in lib/revalidation, ratelimit's scripts
  "EVAL",
  "EVALSHA",
  "EVAL_RO",
  "EVALSHA_RO",
  "SCRIPT",
  // health
  "PING",
]);

/** Commands allowed only with these subcommands. */
export const ALLOWED_SUBCOMMANDS: Readonly<Record<string, ReadonlySet<string>>> = {
  // @upstash/redis's scriptLoad/scriptExists; never SCRIPT FLUSH or KILL.
  SCRIPT: new Set(["LOAD", "EXISTS"]),
};

/**
 * Never allowed, whatever the list above says: they block the endpoint's one shared connection or
 * change its state for every other request. Upstash refuses them too.
 */
const CONNECTION_STATE = new Set([
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SUNSUBSCRIBE",
  "MONITOR",
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "SELECT",
  "QUIT",
  "RESET",
  "AUTH",
  "HELLO",
  "BLPOP",
  "BRPOP",
  "BLMOVE",
  "BRPOPLPUSH",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "WAIT",
]);

export const ALLOWLIST_FILE = "scripts/upstash-local/allowed-commands.ts";

/** Why the endpoint will not run `command`, or `undefined` when it may. */
export function commandRefusal([name = "", sub]: readonly string[]): string | undefined {
  const upper = name.toUpperCase();
  if (CONNECTION_STATE.has(upper)) {
    const hint = upper === "MULTI" || upper === "EXEC" ? " (send the commands to /multi-exec instead)" : "";
    return `ERR ${upper} is not supported by the local Upstash endpoint: it would block or change the connection every request shares${hint}`;
  }
  const printable = /^[A-Z0-9_.|-]{1,40}$/.test(upper) ? upper : "that command";
  if (!ALLOWED_COMMANDS.has(upper)) {
    return `ERR ${printable} is not allowed by the local Upstash endpoint, which runs only the commands this app and @upstash/ratelimit use. If your code needs it, add it to ALLOWED_COMMANDS in ${ALLOWLIST_FILE}.`;
  }
  const subcommands = ALLOWED_SUBCOMMANDS[upper];
  const subUpper = (sub ?? "").toUpperCase();
  if (subcommands && !subcommands.has(subUpper)) {
    const printableSub = /^[A-Z0-9_-]{1,40}$/.test(subUpper) ? subUpper : "that subcommand";
    return `ERR ${printable} ${printableSub} is not allowed by the local Upstash endpoint (allowed: ${[...subcommands].map((s) => `${printable} ${s}`).join(", ")}). If your code needs it, add it to ALLOWED_SUBCOMMANDS in ${ALLOWLIST_FILE}.`;
  }
  return undefined;
}

/** The allowlist as Redis ACL rules, for the endpoint's own connection to a redis-server it started. */
export function aclRules(): string[] {
  // MULTI/EXEC/DISCARD: the endpoint itself wraps /multi-exec in them (requests cannot send them).
  // SUBSCRIBE/UNSUBSCRIBE/QUIT: the endpoint's own subscriber connections, which serve /subscribe/<channel>.
  const rules = ["-@all", "+multi", "+exec", "+discard", "+subscribe", "+unsubscribe", "+quit"];
  for (const name of ALLOWED_COMMANDS) {
    const subcommands = ALLOWED_SUBCOMMANDS[name];
    if (subcommands) for (const sub of subcommands) rules.push(`+${name.toLowerCase()}|${sub.toLowerCase()}`);
    else rules.push(`+${name.toLowerCase()}`);
  }
  return rules;
}
