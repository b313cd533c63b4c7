/**
 * The forms on a post's pages, as zod schemas over their fields. Kept out of actions.ts because a
 * 'use server' module may export async functions only, and tests parse these directly.
 */
import { z } from "zod";
import { textField } from "@/lib/actions";
import { COMMENT_LIMITS } from "@/lib/comments";
import { POST_LIMITS } from "@/lib/posts";
import { isValidKey } from "@/lib/tags";

/** The post a form belongs to travels as a hidden field, so it is parsed like any other input. */
const slug = z.string().refine(isValidKey, "This form belongs to no known post. Reload the page.");

export const commentInput = z.object({
  slug,
  name: textField("your name", COMMENT_LIMITS.name),
  text: textField("a comment", COMMENT_LIMITS.text, { multiline: true }),
});
export type CommentInput = z.output<typeof commentInput>;

export const postEditInput = z.object({
  slug,
  // The bounds lib/posts.ts enforces on write, checked here first to explain them per field.
  title: textField("a title", POST_LIMITS.title),
  body: textField("the text", POST_LIMITS.body, { multiline: true }),
  /** Which button was pressed: "publish" (also when none is named) or "draft" (save, unpublished). */
  intent: z.preprocess(
    (value) => (value === "" || value === undefined ? "publish" : value),
    z.enum(["publish", "draft"], { error: "Press Publish or Save draft." }),
  ),
});
export type PostEditInput = z.output<typeof postEditInput>;
