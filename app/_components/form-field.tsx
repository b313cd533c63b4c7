/**
 * A label, a control and its error, wired for assistive technology: the control gets
 * `aria-invalid` and `aria-describedby` pointing at the error, so a screen reader reads the
 * problem with the field. The control itself is the caller's (input, textarea), given `aria`.
 */
import type { ReactNode } from "react";
import type { ActionState } from "@/lib/action-state";

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
 * A `Field` with its text control, as the forms here have them: named, required unless told
 * otherwise, with the error wiring. An input (`type` text or password), or a textarea when `rows`
 * is given. Other controls (a select, a checkbox) use `Field` directly.
 */
export function TextField({
  id,
  name,
  label,
  error,
  rows,
  type,
  required = true,
  ...control
}: {
  id: string;
  name: string;
  label: string;
  error?: string;
  rows?: number;
  type?: "text" | "password";
  required?: boolean;
  autoComplete?: string;
  maxLength?: number;
  defaultValue?: string;
}) {
  return (
    <Field id={id} label={label} error={error}>
      {(aria) =>
        rows ? (
          <textarea id={id} name={name} required={required} rows={rows} {...control} {...aria} />
        ) : (
          <input id={id} name={name} type={type} required={required} {...control} {...aria} />
        )
      }
    </Field>
  );
}

/**
 * The form-level status after a submission, announced politely to screen readers: a success
 * message, or an error (a refusal, a rate limit, a failure with its request ID).
 *
 * `fields` are the fields this form shows beside their controls (with `Field`). An error for any
 * other field (a hidden input such as `slug`, a button's value such as `intent`) has no control to
 * sit beside, so it is shown here, in place of the general message.
 */
export function FormStatus<Field extends string>({
  state,
  fields,
  testId,
}: {
  state: ActionState<Field>;
  fields: readonly NoInfer<Field>[];
  testId?: string;
}) {
  const elsewhere = Object.entries(state.fieldErrors ?? {})
    .filter(([name]) => !(fields as readonly string[]).includes(name))
    .map(([, message]) => message)
    .filter((message): message is string => typeof message === "string");
  const errors = elsewhere.length > 0 ? elsewhere : state.message ? [state.message] : [];
  return (
    <div aria-live="polite" className="form-status">
      {state.status === "error" && errors.length > 0 ? (
        <div data-testid={testId}>
          {errors.map((message) => (
            <p key={message} className="form-error">
              {message}
            </p>
          ))}
        </div>
      ) : null}
      {state.status === "success" && state.message ? <p className="form-ok">{state.message}</p> : null}
    </div>
  );
}
