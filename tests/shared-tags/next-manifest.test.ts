/**
 * The one non-public Next.js module the project relies on. These tests break on a Next upgrade
 * that moves or changes it; lib/shared-tags/next-manifest.ts then refuses to start the server.
 */
import { createRequire } from "node:module";
import { expect, test } from "vitest";
import {
  MANIFEST_MODULE,
  NextInternalsError,
  nextTagChecks,
  nextTagsManifest,
  PINNED_NEXT_VERSION,
} from "../../lib/shared-tags/next-manifest";

const load = createRequire(`${process.cwd()}/`);

test("next is pinned to the exact version the binding was checked against", () => {
  const pkg = load("./package.json") as { dependencies: Record<string, string> };
  expect(pkg.dependencies.next).toBe(PINNED_NEXT_VERSION);
  expect((load("next/package.json") as { version: string }).version).toBe(PINNED_NEXT_VERSION);
});

test("the bound Map is the very one Next's incremental cache and built-in 'use cache' handler read", () => {
  const manifest = nextTagsManifest({ loadIfAbsent: true });
  const fromNext = load(MANIFEST_MODULE) as { tagsManifest: unknown };
  expect(manifest).toBe(fromNext.tagsManifest);
  // Both readers require it by this path (not a bundled copy): if either stops, injection is a no-op.
  const incremental = load.resolve("next/dist/server/lib/incremental-cache/index.js");
  const builtIn = load.resolve("next/dist/server/lib/cache-handlers/default.js");
  const { readFileSync } = load("node:fs") as typeof import("node:fs");
  expect(readFileSync(incremental, "utf8")).toContain('require("./tags-manifest.external")');
  expect(readFileSync(builtIn, "utf8")).toContain('require("../incremental-cache/tags-manifest.external")');
});

test("Next's checks mean what the injection assumes: stale > timestamp, and expired in the past after the entry", () => {
  const manifest = nextTagsManifest({ loadIfAbsent: true });
  const { areTagsStale, areTagsExpired } = nextTagChecks();
  const tag = `pin:${crypto.randomUUID()}`;
  const now = Date.now();
  manifest.set(tag, { stale: now });
  expect(areTagsStale([tag], now - 1)).toBe(true);
  expect(areTagsStale([tag], now)).toBe(false);
  manifest.set(tag, { stale: now, expired: now - 10 });
  expect(areTagsExpired([tag], now - 20)).toBe(true);
  expect(areTagsExpired([tag], now - 5)).toBe(false);
  // A future expiry (Next's own 'max') is not yet an expiry.
  manifest.set(tag, { stale: now, expired: now + 60_000 });
  expect(areTagsExpired([tag], now - 20)).toBe(false);
  manifest.delete(tag);
});

test("the error names the pinned version and the way out", () => {
  expect(new NextInternalsError("x").message).toMatch(/next@16\.4\.6.*SHARED_TAG_STATE=off/s);
});
