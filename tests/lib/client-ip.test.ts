/**
 * The client-address trust model (lib/client-ip.ts): which header is read under which
 * configuration, and that nothing a client sends can pick its own bucket on a bare `next start`.
 */
import { describe, expect, it } from "vitest";
import { clientAddress, rateLimitKeyForIp, warnAboutClientIpTrust } from "@/lib/client-ip";

const h = (entries: Record<string, string>) => new Headers(entries);

describe("bare next start (no trust configured)", () => {
  it.each([
    [{}],
    [{ "x-forwarded-for": "203.0.113.7" }],
    [{ "x-forwarded-for": "not-an-ip" }],
    [{ "x-real-ip": "203.0.113.7", "x-vercel-forwarded-for": "203.0.113.8" }],
  ])("%j: every client shares the unknown bucket", (headers) => {
    expect(clientAddress(h(headers), { mode: "none" })).toMatchObject({ trusted: false, key: "unknown" });
  });
});

describe("TRUSTED_PROXY_COUNT", () => {
  it("takes the N-th entry from the right; what the client prepended is never read", () => {
    const forged = "198.51.100.1, 198.51.100.2, 203.0.113.7";
    expect(clientAddress(h({ "x-forwarded-for": forged }), { mode: "proxies", count: 1 })).toEqual({
      trusted: true,
      key: "ip:203.0.113.7",
    });
    expect(
      clientAddress(h({ "x-forwarded-for": `${forged}, 10.0.0.2` }), { mode: "proxies", count: 2 }),
    ).toEqual({ trusted: true, key: "ip:203.0.113.7" });
  });

  it("too few entries or an unparseable one: the shared bucket, not a skipped limit", () => {
    expect(clientAddress(h({ "x-forwarded-for": "203.0.113.7" }), { mode: "proxies", count: 2 }).key).toBe(
      "unknown",
    );
    expect(clientAddress(h({}), { mode: "proxies", count: 1 }).key).toBe("unknown");
    expect(
      clientAddress(h({ "x-forwarded-for": "1.2.3.4, not-an-ip" }), { mode: "proxies", count: 1 }).key,
    ).toBe("unknown");
  });
});

describe("CLIENT_IP_HEADER and Vercel", () => {
  it("reads only the named header", () => {
    const headers = h({ "cf-connecting-ip": "203.0.113.9", "x-forwarded-for": "198.51.100.1" });
    expect(clientAddress(headers, { mode: "header", header: "cf-connecting-ip" }).key).toBe("ip:203.0.113.9");
    expect(
      clientAddress(h({ "x-forwarded-for": "1.2.3.4" }), { mode: "header", header: "x-real-ip" }).key,
    ).toBe("unknown");
  });

  it("a list in a single-address header was not written by the proxy alone: shared bucket", () => {
    expect(
      clientAddress(h({ "x-real-ip": "1.2.3.4, 5.6.7.8" }), { mode: "header", header: "x-real-ip" }).key,
    ).toBe("unknown");
  });

  it("on Vercel, x-vercel-forwarded-for, never a client-sent x-forwarded-for", () => {
    const headers = h({ "x-vercel-forwarded-for": "203.0.113.5", "x-forwarded-for": "198.51.100.1" });
    expect(clientAddress(headers, { mode: "vercel" }).key).toBe("ip:203.0.113.5");
    expect(clientAddress(h({ "x-forwarded-for": "198.51.100.1" }), { mode: "vercel" }).key).toBe("unknown");
  });
});

describe("rateLimitKeyForIp", () => {
  it.each([
    ["203.0.113.7", "ip:203.0.113.7"],
    ["203.0.113.7:51234", "ip:203.0.113.7"],
    ["2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "ip:2001:db8:1:2::/64"],
    ["[2001:DB8:1:2::9]:443", "ip:2001:db8:1:2::/64"],
    ["2001:db8::1", "ip:2001:db8:0:0::/64"],
    ["::1", "ip:0:0:0:0::/64"],
    ["fe80::1%eth0", "ip:fe80:0:0:0::/64"],
    ["::ffff:192.0.2.1", "ip:192.0.2.1"],
    ["::ffff:c000:201", "ip:192.0.2.1"],
  ])("%s → %s", (raw, key) => {
    expect(rateLimitKeyForIp(raw)).toBe(key);
  });

  it.each(["", "not-an-ip", "999.1.1.1", "1.2.3", "2001:db8:::1", "x".repeat(80), "1.2.3.4 5.6.7.8"])(
    "%j is not an address",
    (raw) => {
      expect(rateLimitKeyForIp(raw)).toBeUndefined();
    },
  );
});

describe("the boot warning", () => {
  it("says once, in production outside Vercel with nothing configured, what that means", () => {
    const lines: string[] = [];
    expect(warnAboutClientIpTrust({ NODE_ENV: "development" }, (line) => lines.push(line))).toBeUndefined();
    expect(
      warnAboutClientIpTrust({ NODE_ENV: "production", VERCEL: "1" }, (l) => lines.push(l)),
    ).toBeUndefined();
    expect(
      warnAboutClientIpTrust({ NODE_ENV: "production", TRUSTED_PROXY_COUNT: "1" }, (l) => lines.push(l)),
    ).toBeUndefined();
    const message = warnAboutClientIpTrust({ NODE_ENV: "production" }, (line) => lines.push(line));
    expect(message).toMatch(/shared bucket.*TRUSTED_PROXY_COUNT/);
    expect(warnAboutClientIpTrust({ NODE_ENV: "production" }, (line) => lines.push(line))).toBeUndefined();
    expect(lines).toHaveLength(1);
  });
});
