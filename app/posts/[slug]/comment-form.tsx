"use client";
/**
 * The comment form under every post. With JavaScript, React submits it and the action's response
 * carries the re-rendered comments, so the new comment appears in place. Without JavaScript the
 * browser posts the same form and Next.js answers with the whole page, rendered with the action's
 * state (errors, or the new comment and an empty form): progressive enhancement via useActionState.
 */
import { useActionState } from "react";
import { initialState } from "@/lib/action-state";
import { Field, FormStatus } from "../../_components/form-field";
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
      <Field id="comment-name" label="Name" error={errors.name}>
        {(aria) => (
          <input
            id="comment-name"
            name="name"
            autoComplete="name"
            required
            maxLength={limits.name}
            defaultValue={values.name ?? ""}
            {...aria}
          />
        )}
      </Field>
      <Field id="comment-text" label="Comment" error={errors.text}>
        {(aria) => (
          <textarea
            id="comment-text"
            name="text"
            required
            maxLength={limits.text}
            rows={4}
            defaultValue={values.text ?? ""}
            {...aria}
          />
        )}
      </Field>
      <FormStatus state={state} fields={["name", "text"]} />
      <button type="submit" disabled={isPending}>
        {isPending ? "Posting…" : "Post comment"}
      </button>
    </form>
  );
}
