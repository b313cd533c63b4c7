"use client";
import Link from "next/link";
import { useActionState } from "react";
import { initialState } from "@/lib/action-state";
import { FormStatus, TextField } from "../../../_components/form-field";
import { editPostAction } from "../actions";

export function EditPostForm({
  post,
  limits,
}: {
  post: { slug: string; title: string; body: string };
  limits: { title: number; body: number };
}) {
  const [state, formAction, isPending] = useActionState(editPostAction, initialState());
  const errors = state.fieldErrors ?? {};
  // After a failed save, show what was typed, not what is stored.
  const values = { title: post.title, body: post.body, ...state.values };

  return (
    <form action={formAction} className="stack">
      <input type="hidden" name="slug" value={post.slug} />
      <TextField
        id="post-title-input"
        name="title"
        label="Title"
        error={errors.title}
        maxLength={limits.title}
        defaultValue={values.title}
      />
      <TextField
        id="post-body-input"
        name="body"
        label="Text"
        error={errors.body}
        rows={14}
        maxLength={limits.body}
        defaultValue={values.body}
      />
      <p className="muted field-hint">Separate paragraphs with an empty line.</p>
      <FormStatus state={state} fields={["title", "body"]} testId="edit-error" />
      <div className="form-actions">
        {/* Publish first: pressing Enter in the title publishes, as before drafts existed. */}
        <button type="submit" name="intent" value="publish" disabled={isPending}>
          {isPending ? "Saving…" : "Publish"}
        </button>
        <button type="submit" name="intent" value="draft" className="secondary" disabled={isPending}>
          Save draft
        </button>
        <Link href={`/posts/${post.slug}`}>Cancel</Link>
      </div>
    </form>
  );
}
