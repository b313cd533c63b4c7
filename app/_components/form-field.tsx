/**
 * A label, a control and its error, wired for assistive technology: the control gets
 * `aria-invalid` and `aria-describedby` pointing at the error, so a screen reader reads the
 * problem with the field. The control itself is the caller's (input, textarea), given `aria`.
 */
import type { ReactNode } from "react";

type Aria = { "aria-invalid"?: true; "aria-describedby"?: string };

export function Field({
  id,
  label,
  error,
  children,
}: {
  /** The control's id. */
  id: string;
  label: string;
  error?: string;
  children: (aria: Aria) => ReactNode;
}) {
  const errorId = `${id}-error`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(error ? { "aria-invalid": true, "aria-describedby": errorId } : {})}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * The form-level message after a submission, announced politely to screen readers: an error
 * (a refusal, a rate limit, or a problem with the hidden `slug` field) or a success message.
 */
export function FormStatus({
  state,
  testId,
}: {
  state: { status: string; message?: string; fieldErrors?: { slug?: string } };
  testId?: string;
}) {
  return (
    <div aria-live="polite" className="form-status">
      {state.status === "error" && state.message ? (
        <p className="form-error" data-testid={testId}>
          {state.fieldErrors?.slug ?? state.message}
        </p>
      ) : null}
      {state.status === "success" && state.message ? <p className="form-ok">{state.message}</p> : null}
    </div>
  );
}
