/**
 * Wiring: one `SharedTagState` per process, started by instrumentation.ts before the server takes
 * requests, and reachable from everything that runs in that process. Next loads the parts of the
 * app through different module graphs (instrumentation, each route's bundle, cache-handler.mjs by
 * a native import), so the state lives on `globalThis` under a registered symbol, not in a module
 * variable: every graph sees the same one.
 */
import { redisEnv, sharedTagsEnv } from "../env";
import { createFailFastRedis, createStreamingRedis } from "../redis";
import { nextTagsManifest } from "./next-manifest";
import type { Durations } from "./records";
import { createAnnouncements, createTagStore } from "./store";
import { SharedTagState, type SharedTagsLogLine } from "./sync";

/** cache-handler.mjs reads the same symbol; tests/shared-tags/handler.test.ts checks they agree. */
export const STATE_KEY = Symbol.for("fresh-pages.shared-tags");

/** Deadline for one Redis call of the shared layer (a sync, a publish). */
export const CALL_TIMEOUT_MS = 800;
/**
 * See `LearnContext.marginMs`: covers a render that was in flight when another instance's change
 * arrived (renders here take well under 200 ms), short enough that the extra background
 * regenerations it causes stay few.
 */
export const MARGIN_MS = 1000;
/**
 * How long after a change made here its tags are marked again (SharedTagState.remarkLater): longer
 * than a page render that was already running when the change landed, short enough that the one
 * read it can affect comes soon after the write.
 */
export const REMARK_AFTER_MS = 1000;
/** Allowance for the build machine's clock being ahead of or behind the instances'. */
export const BUILD_CLOCK_SKEW_MS = 5000;
/** How long start-up waits for the first sync before serving with what it has. */
export const BOOT_SYNC_TIMEOUT_MS = 2500;

type Holder = { [STATE_KEY]?: SharedTagState };

export function sharedTagState(): SharedTagState | undefined {
  return (globalThis as Holder)[STATE_KEY];
}

function logLine(line: SharedTagsLogLine): void {
  const text = JSON.stringify(line);
  if (line.level === "info") console.log(text);
  else console.warn(text);
}

/**
 * When the build this process runs was started: next.config.ts inlines it into the server code at
 * build time (`env.FRESH_BUILD_STARTED_AT`), so it is right wherever the build was made.
 */
export function buildStartedAt(): number | undefined {
  const raw = process.env.FRESH_BUILD_STARTED_AT;
  const value = raw ? Number(raw) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * Starts the shared layer in a `next start` process (instrumentation.ts). Binds to Next's tags
 * manifest (throws, stopping the server, when that is not possible), then waits up to
 * BOOT_SYNC_TIMEOUT_MS for the first sync so the first request already sees every invalidation
 * made before, and serves anyway when Redis does not answer.
 */
export async function startSharedTags(): Promise<void> {
  if (sharedTagState()) return;
  const env = sharedTagsEnv();
  if (!env.enabled) {
    logLine({ msg: "shared-tags", level: "info", event: "off", reason: env.reason });
    return;
  }
  const manifest = nextTagsManifest();
  const { url, token } = redisEnv();
  const state = new SharedTagState({
    store: createTagStore(createFailFastRedis({ url, token }, CALL_TIMEOUT_MS)),
    // The stream stays open, so this client has no request timeout; it never retries on its own.
    announcements: createAnnouncements(createStreamingRedis({ url, token })),
    manifest,
    intervalMs: env.syncMs,
    callTimeoutMs: CALL_TIMEOUT_MS,
    marginMs: MARGIN_MS,
    remarkAfterMs: REMARK_AFTER_MS,
    buildStartedAt: buildStartedAt(),
    skewMs: BUILD_CLOCK_SKEW_MS,
    now: Date.now,
    log: logLine,
  });
  (globalThis as Holder)[STATE_KEY] = state;

  const started = Date.now();
  const first = await Promise.race([
    state.sync().then(
      () => "synced" as const,
      () => "failed" as const,
    ),
    new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), BOOT_SYNC_TIMEOUT_MS).unref()),
  ]);
  state.start();
  const status = state.status();
  logLine({
    msg: "shared-tags",
    level: first === "synced" ? "info" : "warn",
    event: "started",
    firstSync: first,
    tookMs: Date.now() - started,
    version: status.version,
    tags: status.tags,
    syncEveryMs: env.syncMs,
    buildStartedAt: buildStartedAt() ? new Date(buildStartedAt() as number).toISOString() : "unknown",
    ...(first === "synced"
      ? {}
      : {
          effect:
            "serving with no shared state until Redis answers; invalidations made before are applied then",
        }),
  });
}

/**
 * Publishes an invalidation made by this process and applies it here. "off" when the layer is not
 * running (Vercel, SHARED_TAG_STATE=off, `next dev`), "queued" when Redis did not take it in time.
 * `echoExpected`: the caller will also call Next's revalidateTag/updateTag for the same tags, whose
 * own `updateTags` then needs no second publish (the webhook receiver).
 */
export async function shareInvalidation(
  tags: readonly string[],
  durations: Durations,
  options: { echoExpected?: boolean } = {},
): Promise<"published" | "queued" | "off"> {
  const state = sharedTagState();
  if (!state) return "off";
  return (await state.invalidate(tags, durations, options)) ? "published" : "queued";
}
