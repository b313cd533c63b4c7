/**
 * Comments: written by visitors through a Server Action, read through a cached function tagged
 * `comments:<slug>` so that a new comment invalidates only its own post's comments.
 */
import { cacheLife, cacheTag } from "next/cache";
import { z } from "zod";
import { keys, parseStored, redis } from "./redis";
import { type Rendered, rendered } from "./rendered";
import { commentTags, isValidKey, siteTag } from "./tags";

export const COMMENT_LIMITS = { name: 80, text: 2000 } as const;
/** A post keeps its newest comments only; older ones are trimmed at write time. */
export const MAX_COMMENTS_PER_POST = 500;

export const commentSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().min(1).max(COMMENT_LIMITS.name),
  text: z.string().min(1).max(COMMENT_LIMITS.text),
  createdAt: z.iso.datetime(),
});
export type Comment = z.infer<typeof commentSchema>;

/** A post's comments, oldest first, uncached. */
export async function readComments(slug: string): Promise<Comment[]> {
  if (!isValidKey(slug)) return [];
  const raws = await redis().lrange<string>(keys.comments(slug), 0, -1);
  return raws.map((raw) => parseStored(commentSchema, raw)).filter((c): c is Comment => c !== null);
}

/** Appends a comment; the caller invalidates `commentTags.forPost(slug)`. */
export async function addComment(
  slug: string,
  input: Pick<Comment, "name" | "text">,
  now = new Date(),
): Promise<Comment> {
  const comment = commentSchema.parse({
    ...input,
    id: crypto.randomUUID(),
    createdAt: now.toISOString(),
  });
  const tx = redis().multi();
  tx.rpush(keys.comments(slug), JSON.stringify(comment));
  tx.ltrim(keys.comments(slug), -MAX_COMMENTS_PER_POST, -1);
  await tx.exec();
  return comment;
}

export async function getComments(slug: string): Promise<Rendered<Comment[]>> {
  "use cache";
  cacheLife("days");
  if (!isValidKey(slug)) return rendered([]);
  cacheTag(siteTag(), commentTags.forPost(slug));
  return rendered(await readComments(slug));
}
