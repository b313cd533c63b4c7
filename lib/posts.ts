/**
 * Posts: the content a CMS would own. Reads are cached with 'use cache' and tagged through
 * lib/tags.ts; writes go straight to Redis and leave invalidation to their caller (a Server Action
 * calls updateTag, the webhook receiver calls revalidateTag), because only the caller knows which
 * kind of freshness it needs.
 */
import { cacheLife, cacheTag } from "next/cache";
import { z } from "zod";
import { keys, parseStored, redis } from "./redis";
import { type Rendered, rendered } from "./rendered";
import { isValidKey, KEY_RULE, postTags, siteTag } from "./tags";

/** The longest title and body a post may have: the stored schema and the edit form both use these. */
export const POST_LIMITS = { title: 200, body: 20_000 } as const;

export const postSchema = z.object({
  slug: z.string().refine(isValidKey, `slug must be ${KEY_RULE}`),
  title: z.string().min(1).max(POST_LIMITS.title),
  body: z.string().min(1).max(POST_LIMITS.body),
  updatedAt: z.iso.datetime(),
});
export type Post = z.infer<typeof postSchema>;

export type PostSummary = Pick<Post, "slug" | "title" | "updatedAt">;

/** Lists show at most this many posts; keeps every list's tags within one cacheTag call (max 128). */
export const MAX_LISTED_POSTS = 100;

/** Reads one post from Redis, uncached. `null` when it does not exist (or is not a valid post). */
export async function readPost(slug: string): Promise<Post | null> {
  if (!isValidKey(slug)) return null;
  return parseStored(postSchema, await redis().get(keys.post(slug)));
}

/** Reads the newest posts from Redis, uncached. */
export async function readPosts(limit = MAX_LISTED_POSTS): Promise<PostSummary[]> {
  const db = redis();
  const slugs = await db.zrange<string[]>(keys.postIndex(), 0, limit - 1, { rev: true });
  if (slugs.length === 0) return [];
  const raws = await db.mget<(string | null)[]>(...slugs.map((slug) => keys.post(slug)));
  return raws
    .map((raw) => parseStored(postSchema, raw))
    .filter((post): post is Post => post !== null)
    .map(({ slug, title, updatedAt }) => ({ slug, title, updatedAt }));
}

/**
 * Creates or replaces a post. The caller invalidates: `updateTag` in a Server Action (the author
 * must see the write), `revalidateTag(..., "max")` for out-of-band changes.
 */
export async function writePost(input: Omit<Post, "updatedAt">, now = new Date()): Promise<Post> {
  const post = postSchema.parse({ ...input, updatedAt: now.toISOString() });
  const tx = redis().multi();
  tx.set(keys.post(post.slug), JSON.stringify(post));
  tx.zadd(keys.postIndex(), { score: now.getTime(), member: post.slug });
  await tx.exec();
  return post;
}

/**
 * Creates each post that does not exist yet, keeping its `updatedAt`; one that exists is left as it
 * is (a CMS or an admin may have changed it). Safe to run concurrently and again after a failure.
 */
export async function createMissingPosts(posts: readonly Post[]): Promise<void> {
  if (posts.length === 0) return;
  const tx = redis().multi();
  for (const input of posts) {
    const post = postSchema.parse(input);
    tx.set(keys.post(post.slug), JSON.stringify(post), { nx: true });
    tx.zadd(keys.postIndex(), { nx: true }, { score: Date.parse(post.updatedAt), member: post.slug });
  }
  await tx.exec();
}

export const draftSchema = z.object({
  title: postSchema.shape.title,
  body: postSchema.shape.body,
  savedAt: z.iso.datetime(),
});
export type Draft = z.infer<typeof draftSchema>;

/**
 * A post's unpublished draft, uncached: drafts are read only in Draft Mode (a preview), where they
 * must never enter the cache that every visitor reads. `null` when there is none.
 */
export async function readDraft(slug: string): Promise<Draft | null> {
  if (!isValidKey(slug)) return null;
  return parseStored(draftSchema, await redis().get(keys.postDraft(slug)));
}

/** Saves a draft beside the published post. Nothing to invalidate: no cached read shows drafts. */
export async function writeDraft(
  slug: string,
  input: Pick<Draft, "title" | "body">,
  now = new Date(),
): Promise<Draft> {
  const draft = draftSchema.parse({ ...input, savedAt: now.toISOString() });
  await redis().set(keys.postDraft(slug), JSON.stringify(draft));
  return draft;
}

/**
 * Publishes `input` as the post and drops its draft, in one transaction. The caller invalidates the
 * post's tags (`updateTag` in a Server Action), exactly as for `writePost`.
 */
export async function publishPost(input: Omit<Post, "updatedAt">, now = new Date()): Promise<Post> {
  const post = postSchema.parse({ ...input, updatedAt: now.toISOString() });
  const tx = redis().multi();
  tx.set(keys.post(post.slug), JSON.stringify(post));
  tx.zadd(keys.postIndex(), { score: now.getTime(), member: post.slug });
  tx.del(keys.postDraft(post.slug));
  await tx.exec();
  return post;
}

/**
 * What a previewing editor sees: the draft's title and body over the published post. Uncached, and
 * called only in Draft Mode (see app/posts/[slug]/page.tsx).
 */
export async function readPostPreview(slug: string): Promise<{ post: Post; draft: Draft | null } | null> {
  const [post, draft] = await Promise.all([readPost(slug), readDraft(slug)]);
  if (!post) return null;
  return { post: draft ? { ...post, title: draft.title, body: draft.body } : post, draft };
}

/** The post list, cached until a tag it reads is invalidated (`days` is only a safety net). */
export async function getPostList(): Promise<Rendered<PostSummary[]>> {
  "use cache";
  cacheLife("days");
  const posts = await readPosts();
  // The list shows each post's title, so it is tagged with each record too: a webhook that sends
  // only `post:<slug>` after a title change refreshes the home page as well as the post page.
  cacheTag(siteTag(), postTags.list(), ...posts.map((post) => postTags.record(post.slug)));
  return rendered(posts);
}

/** One post, cached under its record tag. `data` is null for an unknown slug (also cached, and tagged, so creating it later shows up). */
export async function getPost(slug: string): Promise<Rendered<Post | null>> {
  "use cache";
  cacheLife("days");
  if (isValidKey(slug)) cacheTag(siteTag(), postTags.record(slug));
  return rendered(await readPost(slug));
}
