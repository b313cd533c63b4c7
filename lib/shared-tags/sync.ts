/**
 * The shared tag state of one process: what it knows of every tag's invalidations (records.ts),
 * kept in step with Redis (store.ts) and applied to Next's in-process tags manifest, the map that
 * both the built-in `'use cache'` handler and the page-level cache check read.
 *
 * - `invalidate` (every `revalidateTag`/`updateTag` in this process, through cache-handler.mjs):
 *   applied here at once, then published; when Redis does not answer it is queued and published
 *   by the next sync (nothing lost while the process lives). The webhook receiver publishes in its
 *   own round trip instead (`publishThrough`), and falls back to `invalidate` when that fails.
 * - `sync`: publishes the queue, then reads the records changed since the last version it saw, in
 *   one round trip. It runs when another instance announces a change (pub/sub, within milliseconds)
 *   and on a timer every `intervalMs` (the safety net: an announcement is a hint, the version key
 *   is the truth). A page or entry served from the cache costs no Redis call: the timer and the
 *   announcements keep the manifest current, never the request.
 * - Redis slow or down never takes a page down: each call has a deadline, nothing throws into
 *   Next, and the instance keeps serving with what it knows; the log says what degraded.
 */

import { describeError } from "../redis";
import {
  type Applied,
  applyLearned,
  type Durations,
  EMPTY_RECORD,
  foldDueExpiry,
  type LearnContext,
  manifestEntry,
  mergeRecords,
  recordInvalidation,
  sameRecord,
  type TagRecord,
} from "./records";
import type { Announcements, TagStore } from "./store";

export type ManifestEntry = { stale?: number; expired?: number };
/** Next's tags manifest (next-manifest.ts), or a plain Map in tests. */
export type TagsManifest = Map<string, ManifestEntry>;

export type SharedTagsLogLine = {
  msg: "shared-tags";
  level: "info" | "warn" | "error";
  event: string;
} & Record<string, unknown>;

export type SharedTagsOptions = {
  store: TagStore;
  /** Other instances' announcements, to sync at once instead of at the next tick (optional). */
  announcements?: Announcements;
  manifest: TagsManifest;
  /** Time between syncs. */
  intervalMs: number;
  /** Deadline for one Redis operation; past it the operation counts as failed. */
  callTimeoutMs: number;
  /** See `LearnContext.marginMs`: applied to changes learned from other processes. */
  marginMs: number;
  /**
   * After a change made here, its tags are marked again this much later (see `remark`). 0 turns it
   * off (tests of other behaviour).
   */
  remarkAfterMs?: number;
  /**
   * When the build this process serves started (ms), or undefined when unknown: invalidations since
   * then (less `skewMs`) may be missing from the build's pages. Unknown means "all of them".
   */
  buildStartedAt: number | undefined;
  /** Allowance for the build machine's clock differing from the instances'. */
  skewMs: number;
  now: () => number;
  log: (line: SharedTagsLogLine) => void;
};

export type SharedTagsStatus = {
  version: number;
  synced: boolean;
  lastSyncAt: number | null;
  failingSince: number | null;
  queued: number;
  tags: number;
};

type Queued = { tags: readonly string[]; at: number; durations: Durations };

/** Failures are logged at most this often while Redis stays unreachable. */
const LOG_EVERY_MS = 60_000;
/** Wait before subscribing again after the announcement stream failed or went silent. */
const RESUBSCRIBE_AFTER_MS = 5000;
/** How long an announced echo is waited for (Next applies a route handler's revalidateTag after its response). */
const ECHO_WINDOW_MS = 30_000;

/** One invalidation's identity: the same tags with the same kind of expiry. */
function invalidationKey(tags: readonly string[], durations: Durations): string {
  return JSON.stringify([
    [...new Set(tags)].sort(),
    durations === undefined ? null : (durations.expire ?? "stale"),
  ]);
}

export class SharedTagState {
  private readonly records = new Map<string, TagRecord>();
  private readonly applied = new Map<string, Applied>();
  private readonly outbox: Queued[] = [];
  private version = 0;
  private synced = false;
  private lastSyncAt: number | null = null;
  private failingSince: number | null = null;
  private lastFailureLog = 0;
  private running: Promise<void> | null = null;
  private syncAgain = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  private resubscribeTimer: ReturnType<typeof setTimeout> | null = null;
  private announcedVersion = 0;
  private lastSubscribeAt = 0;
  private lastSubscribeFailureLog = 0;
  /** Versions this process published: announcements of them need no sync. */
  private readonly ownVersions = new Set<number>();
  private publishing = 0;
  private heardWhilePublishing = 0;
  /** Invalidations published ahead of Next's own `updateTags` call for them (see `invalidate`). */
  private readonly expectedEchoes = new Map<string, number[]>();

  constructor(private readonly options: SharedTagsOptions) {}

  /**
   * Applies an invalidation made in this process, then publishes it. Resolves to whether Redis has
   * it (true) or it is queued (false). Never rejects: a Server Action must not fail because the
   * shared layer is degraded, since its own write already happened.
   */
  async invalidate(
    tags: readonly string[],
    durations: Durations,
    options: { echoExpected?: boolean } = {},
  ): Promise<boolean> {
    const at = this.options.now();
    const unique = [...new Set(tags)];
    this.learnOwn(unique, at, durations);
    // Next writes its own manifest entries for this call synchronously, after the handlers are
    // called and before any of them resumes: apply ours after them, so theirs cannot overwrite it.
    await Promise.resolve();
    this.inject(unique);
    this.remarkLater(unique, at, durations);

    // The webhook receiver publishes before it answers, then calls revalidateTag, which Next applies
    // after the response and which reaches this method again through cache-handler.mjs: that second
    // call is applied here (above) but not published twice. Only a call announced as an echo is
    // skipped, one per announcement, so two real changes of the same tags are both published.
    // A caller that announces its own echo is a direct caller, never an echo itself: it must not
    // take the place of another caller's echo that has not arrived yet.
    const key = invalidationKey(unique, durations);
    if (!options.echoExpected && this.consumeEcho(key, at)) return true;

    const item: Queued = { tags: unique, at, durations };
    this.publishing += 1;
    try {
      const version = await this.withDeadline("publish", this.options.store.publish(unique, at, durations));
      this.ownVersions.add(version);
      if (options.echoExpected) this.expectEcho(key, at);
      return true;
    } catch (error) {
      this.outbox.push(item);
      this.failed("publish", error);
      return false;
    } finally {
      this.settlePublish();
    }
  }

  /** An announcement can arrive before its own publish's answer: decide about it once none is pending. */
  private settlePublish(): void {
    this.publishing -= 1;
    if (this.publishing === 0 && this.heardWhilePublishing > 0) {
      const heard = this.heardWhilePublishing;
      this.heardWhilePublishing = 0;
      this.announced(heard);
    }
  }

  /**
   * For a caller whose own Redis script publishes the invalidation along with other work in one
   * round trip (the webhook receiver: limit, claim and publish, lib/revalidation/delivery.ts).
   * `run` gets the time to publish under (ms); `versionOf` reads from its result the version its
   * publish made, or undefined when it did not publish (a limited or duplicate delivery). A
   * published invalidation is then applied here as `invalidate` applies one, counted as this
   * process's own version, and Next's echo of it (the caller's `revalidateTag`) is not published
   * again. `run`'s failure is the caller's to handle (it rejects): nothing is applied or queued.
   */
  async publishThrough<T>(
    tags: readonly string[],
    durations: Durations,
    run: (at: number) => Promise<T>,
    versionOf: (result: T) => number | undefined,
  ): Promise<T> {
    const at = this.options.now();
    this.publishing += 1;
    try {
      const result = await run(at);
      const version = versionOf(result);
      if (version !== undefined) {
        const unique = [...new Set(tags)];
        this.learnOwn(unique, at, durations);
        this.inject(unique);
        this.remarkLater(unique, at, durations);
        this.ownVersions.add(version);
        this.expectEcho(invalidationKey(unique, durations), at);
      }
      return result;
    } finally {
      this.settlePublish();
    }
  }

  /**
   * Next stores a page regeneration that was already running when an invalidation landed as newer
   * than the invalidation (its time is when it finished), and concurrent readers share it: the
   * change would then stay invisible until the next invalidation of those tags. So the tags are
   * marked again `remarkAfterMs` later: whatever was stored in between is served at most once more
   * ('max': stale) or regenerated first (updateTag: expired), and what is made after is fresh.
   */
  private remarkLater(tags: readonly string[], at: number, durations: Durations): void {
    const delay = this.options.remarkAfterMs ?? 0;
    if (delay <= 0 || this.stopped) return;
    const hard = durations === undefined || durations.expire === 0;
    const timer = setTimeout(() => {
      const until = at + delay;
      for (const tag of tags) {
        const applied = this.applied.get(tag) ?? { stale: 0, expired: 0 };
        this.applied.set(tag, {
          stale: Math.max(applied.stale, until),
          expired: hard ? Math.max(applied.expired, until) : applied.expired,
        });
      }
      this.inject(tags);
    }, delay);
    timer.unref?.();
  }

  /**
   * An invalidation made in this process, learned with no margin: this process knows of it at once,
   * as Next itself does. A margin here would keep the tags' pages stale for a while, and a background
   * render begun before the change and finished after it would then be served as the newer page.
   */
  private learnOwn(tags: readonly string[], at: number, durations: Durations): void {
    for (const tag of tags) {
      const known = this.records.get(tag) ?? EMPTY_RECORD;
      this.learn(tag, known, recordInvalidation(known, at, durations), {
        learnedAt: at,
        marginMs: 0,
        settledBefore: 0,
        catchingUp: false,
      });
    }
  }

  /** Next's own `updateTags` for this invalidation will arrive (see `invalidate`): not published again. */
  private expectEcho(key: string, at: number): void {
    this.expectedEchoes.set(key, [...(this.expectedEchoes.get(key) ?? []), at]);
  }

  /** Echoes that never came (Next did not apply the revalidation) are forgotten after the window. */
  private pruneEchoes(at: number): void {
    for (const [key, times] of this.expectedEchoes) {
      const live = times.filter((sentAt) => at - sentAt < ECHO_WINDOW_MS);
      if (live.length > 0) this.expectedEchoes.set(key, live);
      else this.expectedEchoes.delete(key);
    }
  }

  private consumeEcho(key: string, at: number): boolean {
    const pending = (this.expectedEchoes.get(key) ?? []).filter((sentAt) => at - sentAt < ECHO_WINDOW_MS);
    const found = pending.length > 0;
    if (found) pending.shift();
    if (pending.length > 0) this.expectedEchoes.set(key, pending);
    else this.expectedEchoes.delete(key);
    return found;
  }

  /**
   * One sync: publish what is queued, then learn what changed. A call during a run shares it and
   * asks for one more run after it, so a change announced mid-run is never left for the timer.
   */
  sync(): Promise<void> {
    if (this.running) {
      this.syncAgain = true;
      return this.running;
    }
    this.running = this.runSync().finally(() => {
      this.running = null;
      if (this.syncAgain && !this.stopped) {
        this.syncAgain = false;
        this.sync().catch(() => undefined);
      }
    });
    return this.running;
  }

  /** Starts the timer (unref'd: it never keeps a process alive) and listens to announcements. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.subscribe();
    const tick = () => {
      this.timer = setTimeout(() => {
        this.sync()
          .catch(() => undefined)
          .finally(() => {
            if (!this.stopped) tick();
          });
      }, this.options.intervalMs);
      this.timer.unref?.();
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.resubscribeTimer) clearTimeout(this.resubscribeTimer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private subscribe(): void {
    const { announcements } = this.options;
    if (!announcements || this.stopped) return;
    this.unsubscribe?.();
    this.lastSubscribeAt = this.options.now();
    this.unsubscribe = announcements({
      onVersion: (version) => {
        this.announcedVersion = Math.max(this.announcedVersion, version);
        if (this.publishing > 0) this.heardWhilePublishing = Math.max(this.heardWhilePublishing, version);
        else this.announced(version);
      },
      onError: (error) => {
        // Only the push is lost (the timer still syncs), so this is not a Redis outage: its own log.
        const at = this.options.now();
        if (at - this.lastSubscribeFailureLog >= LOG_EVERY_MS) {
          this.lastSubscribeFailureLog = at;
          this.options.log({
            msg: "shared-tags",
            level: "warn",
            event: "announcements-unavailable",
            reason: describeError(error),
            effect: `instances learn of changes at the next timed sync (every ${this.options.intervalMs} ms) until the stream is back`,
          });
        }
        this.resubscribeSoon();
      },
    });
  }

  /** This process's own publishes are known here already: skip past them without a round trip. */
  private announced(version: number): void {
    while (this.ownVersions.has(this.version + 1)) this.ownVersions.delete(++this.version);
    if (version > this.version) this.sync().catch(() => undefined);
  }

  private resubscribeSoon(): void {
    if (this.resubscribeTimer || this.stopped) return;
    this.resubscribeTimer = setTimeout(() => {
      this.resubscribeTimer = null;
      this.subscribe();
    }, RESUBSCRIBE_AFTER_MS);
    this.resubscribeTimer.unref?.();
  }

  status(): SharedTagsStatus {
    return {
      version: this.version,
      synced: this.synced,
      lastSyncAt: this.lastSyncAt,
      failingSince: this.failingSince,
      queued: this.outbox.length,
      tags: this.records.size,
    };
  }

  private async runSync(): Promise<void> {
    const { store, now, marginMs, buildStartedAt, skewMs } = this.options;
    try {
      while (this.outbox.length > 0) {
        const item = this.outbox[0] as Queued;
        await this.withDeadline("publish", store.publish(item.tags, item.at, item.durations));
        this.outbox.shift();
      }
      const changes = await this.withDeadline("sync", store.changesSince(this.version));
      const learnedAt = now();
      const catchingUp = !this.synced;
      const context: LearnContext = {
        learnedAt,
        // A first sync that finished before the server took requests has nothing in flight to cover.
        marginMs: catchingUp && !this.timer ? 0 : marginMs,
        settledBefore: catchingUp ? Math.max(0, (buildStartedAt ?? 0) - skewMs) : 0,
        catchingUp,
      };
      const changed: string[] = [];
      for (const [tag, remote] of changes.records) {
        const known = this.records.get(tag) ?? EMPTY_RECORD;
        const merged = mergeRecords(known, remote, learnedAt);
        if (sameRecord(known, merged) && !catchingUp) continue;
        this.learn(tag, catchingUp ? EMPTY_RECORD : known, merged, context);
        changed.push(tag);
      }
      changed.push(...this.foldDue(learnedAt));
      this.pruneEchoes(learnedAt);
      this.inject(changed);
      // The timer found a change no announcement told of: the stream may be open and silent (a proxy
      // that buffers it, say; one that ends is reported). Subscribe again, at most every
      // RESUBSCRIBE_AFTER_MS.
      const unannounced = changes.version > this.version && changes.version > this.announcedVersion;
      if (unannounced && this.unsubscribe && learnedAt - this.lastSubscribeAt > RESUBSCRIBE_AFTER_MS) {
        this.subscribe();
      }
      this.version = Math.max(this.version, changes.version);
      for (const own of this.ownVersions) if (own <= this.version) this.ownVersions.delete(own);
      this.synced = true;
      this.lastSyncAt = learnedAt;
      if (this.failingSince !== null) {
        this.options.log({
          msg: "shared-tags",
          level: "info",
          event: "recovered",
          downForMs: learnedAt - this.failingSince,
          version: this.version,
        });
        this.failingSince = null;
      }
    } catch (error) {
      this.failed("sync", error);
      throw error;
    }
  }

  /** Scheduled expiries (a `'max'` tag a year on) whose time has come become hard expiries. */
  private foldDue(at: number): string[] {
    const due: string[] = [];
    for (const [tag, record] of this.records) {
      if (record.f === 0 || record.f > at) continue;
      this.learn(tag, record, foldDueExpiry(record, at), {
        learnedAt: at,
        marginMs: 0,
        settledBefore: 0,
        catchingUp: false,
      });
      due.push(tag);
    }
    return due;
  }

  private learn(tag: string, known: TagRecord, next: TagRecord, context: LearnContext): void {
    const applied = this.applied.get(tag) ?? { stale: 0, expired: 0 };
    this.applied.set(tag, applyLearned(applied, known, next, context));
    const current = this.records.get(tag) ?? EMPTY_RECORD;
    this.records.set(tag, mergeRecords(current, next, context.learnedAt));
  }

  private inject(tags: readonly string[]): void {
    const { manifest, now } = this.options;
    const at = now();
    for (const tag of tags) {
      const applied = this.applied.get(tag);
      if (applied) manifest.set(tag, manifestEntry(manifest.get(tag), applied, at));
    }
  }

  private async withDeadline<T>(label: string, pending: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    pending.catch(() => undefined);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${label}: no answer within ${this.options.callTimeoutMs} ms`)),
        this.options.callTimeoutMs,
      );
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private failed(operation: string, error: unknown): void {
    const at = this.options.now();
    const first = this.failingSince === null;
    this.failingSince ??= at;
    if (!first && at - this.lastFailureLog < LOG_EVERY_MS) return;
    this.lastFailureLog = at;
    this.options.log({
      msg: "shared-tags",
      level: "warn",
      event: "redis-unavailable",
      operation,
      reason: describeError(error),
      since: new Date(this.failingSince).toISOString(),
      queued: this.outbox.length,
      effect:
        "serving with this instance's tag state; invalidations are applied here and queued until Redis answers",
    });
  }
}
