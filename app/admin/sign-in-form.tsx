"use client";
import { useActionState } from "react";
import { initialState } from "@/lib/action-state";
import { FormStatus, TextField } from "../_components/form-field";
import { signIn } from "./actions";

/** `next`: the page to return to after signing in (checked again on the server). */
export function SignInForm({ next }: { next: string }) {
  const [state, formAction, isPending] = useActionState(signIn, initialState());
  return (
    <form action={formAction} className="stack" aria-label="Sign in">
      <input type="hidden" name="next" value={next} />
      <TextField
        id="admin-password"
        name="password"
        label="Admin password"
        error={state.fieldErrors?.password}
        type="password"
        autoComplete="current-password"
      />
      <FormStatus state={state} fields={["password"]} />
      <button type="submit" disabled={isPending}>
        {isPending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
