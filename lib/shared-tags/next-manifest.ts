/**
 * The one place this project touches a non-public Next.js module: the in-process tags manifest
 * (`next/dist/server/lib/incremental-cache/tags-manifest.external.js`). Next 16.4.6 keeps every tag
 * invalidation in that Map, and reads it for both `'use cache'` entries (the built-in handler) and
 * prerendered pages (the incremental cache); there is no public way to tell it about an invalidation
 * made by another process. Writing into it gives other instances Next's own semantics: `stale` →
 * served once more while regenerating, `expired` → regenerated before serving.
 *
 * Because it is internal, `next` is pinned to the exact version this was checked against, and the
 * binding is checked at boot: the module must be the copy Next itself loaded (a second copy of
 * `next`, or a bundled one, would make injection a silent no-op) and must still behave as assumed.
 * A failed check stops the server with the reason. tests/shared-tags/next-manifest.test.ts breaks
 * on an upgrade that changes it.
 */
import type { TagsManifest } from "./sync";

export const PINNED_NEXT_VERSION = "16.4.6";
export const MANIFEST_MODULE = "next/dist/server/lib/incremental-cache/tags-manifest.external.js";
const MANIFEST_SUFFIX = `/${MANIFEST_MODULE}`;

export class NextInternalsError extends Error {
  constructor(reason: string) {
    super(
      `Shared tag state cannot bind to Next.js's tags manifest: ${reason} ` +
        `It was written for next@${PINNED_NEXT_VERSION}. Keep next pinned to that version, or set SHARED_TAG_STATE=off ` +
        "to run without it (each instance then only sees its own invalidations). See README, 'Running several instances'.",
    );
    this.name = "NextInternalsError";
  }
}

type ManifestModule = {
  tagsManifest: unknown;
  areTagsStale: (tags: string[], timestamp: number) => boolean;
  areTagsExpired: (tags: string[], timestamp: number) => boolean;
};

type NodeRequire = ((id: string) => unknown) & { cache: Record<string, { exports: unknown } | undefined> };

/** Node's own `require`, out of the bundler's sight, so the module cache is the one Next uses. */
function nodeRequire(): NodeRequire {
  const nodeModule = process.getBuiltinModule?.("node:module") as
    | { createRequire(path: string): NodeRequire }
    | undefined;
  if (!nodeModule)
    throw new NextInternalsError("this Node.js has no process.getBuiltinModule (Node >= 20.16).");
  return nodeModule.createRequire(`${process.cwd()}/`);
}

function isManifestModule(value: unknown): value is ManifestModule {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<ManifestModule>;
  return (
    candidate.tagsManifest instanceof Map &&
    typeof candidate.areTagsStale === "function" &&
    typeof candidate.areTagsExpired === "function"
  );
}

/**
 * Next's tags manifest, as loaded by the running Next server. `loadIfAbsent` (tests only) loads it
 * when no Next server has yet; a server always has, since its incremental cache requires it.
 */
export function nextTagsManifest(options: { loadIfAbsent?: boolean } = {}): TagsManifest {
  const load = nodeRequire();
  const version = (load("next/package.json") as { version?: string }).version;
  if (version !== PINNED_NEXT_VERSION) {
    throw new NextInternalsError(`the installed next is ${version ?? "unknown"}.`);
  }
  if (options.loadIfAbsent) load(MANIFEST_MODULE);
  // `dist/esm/...` is another module instance that the server never reads: it does not match.
  const loaded = Object.keys(load.cache).filter((path) =>
    path.replaceAll("\\", "/").endsWith(MANIFEST_SUFFIX),
  );
  if (loaded.length === 0) {
    throw new NextInternalsError("Next has not loaded its tags manifest module (has its location changed?).");
  }
  if (loaded.length > 1) {
    throw new NextInternalsError(
      `${loaded.length} copies of the tags manifest module are loaded (${loaded.join(", ")}): more than one copy of next is installed.`,
    );
  }
  const exports = load.cache[loaded[0] as string]?.exports;
  if (!isManifestModule(exports)) {
    throw new NextInternalsError(
      "the module no longer exports tagsManifest as a Map with areTagsStale/areTagsExpired.",
    );
  }
  return exports.tagsManifest as TagsManifest;
}

/** The manifest module's checks, for the test that pins what injection relies on. */
export function nextTagChecks(): Pick<ManifestModule, "areTagsStale" | "areTagsExpired"> {
  const exports = nodeRequire()(MANIFEST_MODULE);
  if (!isManifestModule(exports)) throw new NextInternalsError("unexpected module shape.");
  return exports;
}
