"use client";
/**
 * The comment form under every post. With JavaScript, React submits it and the action's response
 * carries the re-rendered comments, so the new comment appears in place. Without JavaScript the
 * browser posts the same form and Next.js answers with the whole page, rendered with the action's
 * state (errors, or the new comment and an empty form): progressive enhancement via useActionState.
 */
import { useActionState } from "react";
import { initialState } from "@/lib/action-state";
import { FormStatus, TextField } from "../../_components/form-field";
import { addCommentAction } from "./actions";

/** `limits`: lib/comments.ts's COMMENT_LIMITS, passed by the page (a Client Component imports no server module). */
export function CommentForm({ slug, limits }: { slug: string; limits: { name: number; text: number } }) {
  // The permalink tells React which page this form belongs to when it is posted before hydration.
  const [state, formAction, isPending] = useActionState(addCommentAction, initialState(), `/posts/${slug}`);
  const errors = state.fieldErrors ?? {};
  const values = state.status === "error" ? (state.values ?? {}) : {};

  return (
    <form action={formAction} className="stack comment-form" aria-labelledby="comment-form-heading">
      <h3 id="comment-form-heading">Leave a comment</h3>
      <input type="hidden" name="slug" value={slug} />
      <TextField
        id="comment-name"
        name="name"
        label="Name"
        error={errors.name}
        autoComplete="name"
        maxLength={limits.name}
        defaultValue={values.name ?? ""}
      />
      <TextField
        id="comment-text"
        name="text"
        label="Comment"
        error={errors.text}
        rows={4}
        maxLength={limits.text}
        defaultValue={values.text ?? ""}
      />
      <FormStatus state={state} fields={["name", "text"]} />
      <button type="submit" disabled={isPending}>
        {isPending ? "Posting…" : "Post comment"}
      </button>
    </form>
  );
}
