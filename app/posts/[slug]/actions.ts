"use server";
/**
 * The Server Actions a post's pages post to. Each is a `defineAction` (lib/actions.ts): parse →
 * authorize → mutate → invalidate → return, in that order.
 */
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { ActionError, defineAction, tryAgainIn } from "@/lib/actions";
import { clientAddress } from "@/lib/client-ip";
import { addComment } from "@/lib/comments";
import { publishPost, readPost, writeDraft } from "@/lib/posts";
import { limiter, SITE_WIDE } from "@/lib/rate-limit";
import { hasAdminSession } from "@/lib/session";
import { commentTags, postTags } from "@/lib/tags";
import { commentInput, postEditInput } from "./schemas";

/**
 * Anyone may comment. Three limits: per client address (RATE_LIMIT_COMMENTS; a shared bucket when
 * the address cannot be trusted, see lib/client-ip.ts), per post and site-wide, so that no header a
 * client sends can flood a post or the site.
 */
export const addCommentAction = defineAction({
  name: "add-comment",
  schema: commentInput,
  authorize: async ({ slug }) => {
    const address = clientAddress(await headers());
    const verdicts = await Promise.all([
      limiter("comments").limit(address.key),
      limiter("comments-post").limit(`post:${slug}`),
      limiter("comments-site").limit(SITE_WIDE),
    ]);
    const refused = verdicts.find((verdict) => !verdict.success);
    if (refused) {
      const where = refused === verdicts[0] ? "" : " on this site";
      throw new ActionError(
        `Comments are coming in too fast${where}. Try again in ${tryAgainIn(refused.reset)}.`,
      );
    }
  },
  mutate: async ({ slug, name, text }) => {
    if (!(await readPost(slug))) throw new ActionError("This post does not exist any more.");
    return addComment(slug, { name, text });
  },
  tags: ({ slug }) => [commentTags.forPost(slug)],
  // A state, not a redirect, with or without JavaScript: the page rendered in this same request
  // reads past the tags updateTag just expired, so it shows the new comment, and a JavaScript-less
  // browser makes no second request. (A redirect's follow-up GET is an ordinary page read; when post
  // pages were prerendered at build, that read could be served the build-time page: see
  // generateStaticParams in page.tsx.)
  onSuccess: () => ({ status: "success", message: "Thanks! Your comment is posted." }),
});

/**
 * Admins only: the action checks the session cookie itself, whatever page the form was on.
 * "Publish" writes the post (and drops its draft), then expires its tags so the editor lands on the
 * published page; "Save draft" keeps the text beside the published post, where only a preview link
 * shows it (no cached read shows drafts, so there is nothing to invalidate).
 */
export const editPostAction = defineAction({
  name: "edit-post",
  schema: postEditInput,
  authorize: async () => {
    if (!(await hasAdminSession())) {
      throw new ActionError("You are not signed in (or your session expired). Sign in again, then save.");
    }
  },
  mutate: async ({ slug, title, body, intent }) => {
    if (!(await readPost(slug))) throw new ActionError("This post does not exist any more.");
    return intent === "draft" ? writeDraft(slug, { title, body }) : publishPost({ slug, title, body });
  },
  tags: ({ slug, intent }) => (intent === "draft" ? [] : [postTags.record(slug), postTags.list()]),
  onSuccess: ({ slug, intent }) =>
    intent === "draft"
      ? { status: "success", message: "Draft saved. It is not published: preview it with the link above." }
      : redirect(`/posts/${slug}`),
});
