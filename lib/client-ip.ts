/**
 * The client's address, for per-client rate limits, taken only from where it cannot be forged.
 *
 * Trust model (the README's "Client addresses" and docs/security.md say the same):
 * - **On Vercel** (`VERCEL=1`): `x-vercel-forwarded-for`, which Vercel's edge sets from the
 *   connection; a client-sent value never reaches the function.
 * - **Behind a proxy you run**, you name what it sets, and only that is read:
 *   - `CLIENT_IP_HEADER=cf-connecting-ip` (or `x-real-ip`, ...): a single-address header that your
 *     proxy overwrites on every request;
 *   - `TRUSTED_PROXY_COUNT=N`: `X-Forwarded-For` with N proxies in front of the app, each appending
 *     the address it saw; the client is the N-th entry from the right. Entries further left were
 *     written by the client and are never read.
 *   `CLIENT_IP_HEADER` wins over `VERCEL`, for a CDN in front of Vercel.
 * - **A bare `next start`** (no proxy, nothing configured): no address is trusted. Next keeps a
 *   client-sent `X-Forwarded-For` as it is and only fills it from the socket when it is absent
 *   (node_modules/next/dist/server/base-server.js: `req.headers['x-forwarded-for'] ??= socket.remoteAddress`),
 *   so any value could be the client's choice.
 *
 * Without a trustworthy address every client shares one bucket (`unknown`). That is deliberate:
 * skipping the limit, or keying it on a header the client picked, would let one client dodge it by
 * changing the header. Sign-in and comments also have a site-wide backstop that no header touches.
 *
 * IPv6 addresses are grouped by /64: one subscriber usually holds a whole /64 and could otherwise
 * rotate through 2^64 buckets. IPv4-mapped IPv6 (`::ffff:192.0.2.1`) counts as the IPv4 address.
 */
import { isIP } from "node:net";
import { type ClientIpTrust, rateLimitEnv } from "./env";

export type { ClientIpTrust } from "./env";

export type ClientAddress =
  /** `key` is the rate-limit identifier: `ip:192.0.2.1` or `ip:2001:db8:1:2::/64`. */
  | { trusted: true; key: string }
  /** No trustworthy address: every such client shares `key`; `reason` is for the log. */
  | { trusted: false; key: typeof UNKNOWN_CLIENT; reason: string };

export const UNKNOWN_CLIENT = "unknown";

/** The trust model configured in the environment (see `rateLimitEnv`). */
export function configuredTrust(): ClientIpTrust {
  return rateLimitEnv().clientIpTrust;
}

export function clientAddress(headers: Headers, trust: ClientIpTrust = configuredTrust()): ClientAddress {
  const untrusted = (reason: string): ClientAddress => ({ trusted: false, key: UNKNOWN_CLIENT, reason });
  let raw: string | undefined;
  switch (trust.mode) {
    case "none":
      return untrusted("no client-address trust configured (bare next start): shared bucket");
    case "vercel":
    case "header": {
      const name = trust.mode === "vercel" ? "x-vercel-forwarded-for" : trust.header;
      const value = headers.get(name);
      if (value === null) return untrusted(`the ${name} header is missing: shared bucket`);
      // A list means something other than the configured proxy wrote the header.
      if (value.includes(",")) return untrusted(`the ${name} header holds several addresses: shared bucket`);
      raw = value;
      break;
    }
    case "proxies": {
      const entries = (headers.get("x-forwarded-for") ?? "").split(",").map((entry) => entry.trim());
      const entry = entries.length >= trust.count ? entries[entries.length - trust.count] : undefined;
      if (!entry) {
        return untrusted(
          `x-forwarded-for has fewer than ${trust.count} entries (TRUSTED_PROXY_COUNT): shared bucket`,
        );
      }
      raw = entry;
      break;
    }
  }
  const key = rateLimitKeyForIp(raw);
  return key ? { trusted: true, key } : untrusted("the client address is not an IP address: shared bucket");
}

/** `ip:<v4>` or `ip:<v6 /64 prefix>::/64` for a valid address, `undefined` for anything else. */
export function rateLimitKeyForIp(raw: string): string | undefined {
  let value = raw.trim();
  if (value.length === 0 || value.length > 64) return undefined;
  // A bracketed IPv6 address with or without a port ("[2001:db8::1]:443"), or IPv4 with a port.
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed?.[1]) value = bracketed[1];
  else if (/^[\d.]+:\d{1,5}$/.test(value)) value = value.slice(0, value.lastIndexOf(":"));
  value = value.replace(/%.*$/, ""); // a zone index ("fe80::1%eth0") names an interface, not a client

  const version = isIP(value);
  if (version === 4) return `ip:${value}`;
  if (version !== 6) return undefined;
  const groups = expandIpv6(value);
  if (!groups) return undefined;
  // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = [groups[6], groups[7]];
    return `ip:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `ip:${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (as `isIP` accepts it). */
function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

let warned = false;

/**
 * Says at boot, once, what a production start outside Vercel without a trust configuration means.
 * Called from instrumentation.ts; returns the message (or `undefined`) so a test can read it.
 */
export function warnAboutClientIpTrust(
  env: Record<string, string | undefined> = process.env,
  log: (message: string) => void = console.warn,
): string | undefined {
  if (warned || env.NODE_ENV !== "production") return undefined;
  const trust = rateLimitEnv(env).clientIpTrust;
  if (trust.mode !== "none") return undefined;
  warned = true;
  const message =
    "[client-ip] No client-address trust is configured (not on Vercel; CLIENT_IP_HEADER and TRUSTED_PROXY_COUNT unset). " +
    "X-Forwarded-For can be set by any client here, so it is ignored: per-address limits (sign-in, comments, webhook failures) " +
    "put every client in one shared bucket, and the site-wide limits still apply. Behind a proxy, set TRUSTED_PROXY_COUNT=<number of proxies> " +
    "or CLIENT_IP_HEADER=<the header your proxy overwrites>.";
  log(message);
  return message;
}
