/**
 * The blog demo's content, written once per database so that a fresh `npm run dev` shows a site.
 *
 * Not in the data path: `next.config.ts` calls `seedDemoContent()` when a `next dev`, `next build`
 * or `next start` process starts (before the build prerenders anything, and before a server takes
 * requests), never a read. After the first run it costs one GET per process. To drop the demo
 * content, delete this file and that call.
 */
import { createMissingPosts, type Post } from "./posts";
import { describeError, keys, redis } from "./redis";

export const demoPosts: readonly Post[] = [
  {
    slug: "hello-world",
    title: "Hello, world",
    body: "This post is served from the Next.js cache. Its page was rendered once and is reused until a tag it reads is invalidated.\n\nChange it in your CMS (or in Redis) and send a signed webhook to /api/revalidate: the next visits show the new text, without a redeploy.",
    updatedAt: "2026-01-05T09:00:00.000Z",
  },
  {
    slug: "stale-while-revalidate",
    title: "Stale-while-revalidate, explained",
    body: "revalidateTag(tag, 'max') marks cached entries stale. The next visitor still gets the old page, instantly, while Next.js renders the new one in the background; the visitor after that sees it.\n\nThat is the right trade for out-of-band changes such as a CMS publish: nobody waits, and the page is fresh within a request or two.",
    updatedAt: "2026-01-12T09:00:00.000Z",
  },
  {
    slug: "read-your-writes",
    title: "Read-your-writes with updateTag",
    body: "When a person changes something themselves, in a Server Action, they expect to see it at once. updateTag expires the tag immediately, so the render that follows the action reads fresh data.\n\nLeave a comment below to see it happen.",
    updatedAt: "2026-01-19T09:00:00.000Z",
  },
];

export type SeedOutcome = "seeded" | "already seeded";

/**
 * Writes `posts` once: after that, `marker` says so, and a demo post deleted or changed later is
 * never brought back. Every write is NX, so concurrent starts (several instances) or a re-run after
 * a failure never overwrite content a CMS or an admin changed. `posts` and `marker` are parameters
 * so a test can seed posts of its own under a marker of its own.
 */
export async function seedDemoContent(
  options: { posts?: readonly Post[]; marker?: string } = {},
): Promise<SeedOutcome> {
  const db = redis();
  const marker = options.marker ?? keys.seeded();
  if ((await db.get(marker)) !== null) return "already seeded";
  await createMissingPosts(options.posts ?? demoPosts);
  await db.set(marker, new Date().toISOString(), { nx: true });
  return "seeded";
}

/**
 * `seedDemoContent` for `next.config.ts`, once per `next dev`, `next build` or `next start`. A
 * database that cannot be reached only costs the demo content: the process starts anyway and says so.
 */
export async function seedDemoOnStart(): Promise<void> {
  try {
    if ((await seedDemoContent()) === "seeded") console.log("[seed] Wrote the demo posts (lib/seed.ts).");
  } catch (error) {
    console.warn(`[seed] Could not write the demo posts: ${describeError(error)}. Starting without them.`);
  }
}
