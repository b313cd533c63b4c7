"use client";
import { useActionState } from "react";
import { Field } from "../_components/form-field";
import { type SignInState, signIn } from "./actions";

const initialState: SignInState = { status: "idle" };

/** `next`: the page to return to after signing in (checked again on the server). */
export function SignInForm({ next }: { next: string }) {
  const [state, formAction, isPending] = useActionState(signIn, initialState);
  return (
    <form action={formAction} className="stack" aria-label="Sign in">
      <input type="hidden" name="next" value={next} />
      <Field id="admin-password" label="Admin password" error={state.fieldErrors?.password}>
        {(aria) => (
          <input
            id="admin-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            {...aria}
          />
        )}
      </Field>
      <div aria-live="polite" className="form-status">
        {state.message ? <p className="form-error">{state.message}</p> : null}
      </div>
      <button type="submit" disabled={isPending}>
        {isPending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
