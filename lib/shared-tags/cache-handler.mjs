// @ts-check
/**
 * Registered in next.config.ts under a kind of its own, `shared-tags`, that no `'use cache'`
 * directive names: it stores nothing. Next calls `updateTags` on every registered handler for
 * every `revalidateTag`, `updateTag` and `revalidatePath` in the process, so this is where every
 * invalidation reaches the shared tag state (lib/shared-tags/sync.ts), whoever made it. The
 * built-in handler keeps storing the `'use cache'` entries, per instance.
 *
 * Plain JavaScript because Next loads cache handlers with a native `import()`, not through its
 * bundler. The state is found through a registered symbol that lib/shared-tags/runtime.ts sets.
 */
const STATE_KEY = Symbol.for("fresh-pages.shared-tags");

/** @type {import("next/cache").CacheHandler} */
const sharedTagsObserver = {
  async get() {
    return undefined;
  },
  async set(_cacheKey, pendingEntry) {
    await pendingEntry;
  },
  async refreshTags() {},
  async getExpiration() {
    return 0;
  },
  async updateTags(tags, durations) {
    /** @type {{ invalidate?: (tags: string[], durations: { expire?: number } | undefined) => Promise<boolean> } | undefined} */
    const state = Reflect.get(globalThis, STATE_KEY);
    // Not running in `next build`, `next dev`, on Vercel or with SHARED_TAG_STATE=off. Never throws.
    if (state?.invalidate) await state.invalidate(tags, durations);
  },
};

export default sharedTagsObserver;
