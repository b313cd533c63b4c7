/**
 * What a form shows after a submission: the state a Server Action (lib/actions.ts) returns and
 * `useActionState` keeps between submissions. A module of its own, with no server imports, because
 * the forms (Client Components) import it too.
 */
export type ActionState<Field extends string = string> = {
  status: "idle" | "error" | "success";
  /** A message about the whole form (refused, rate-limited, saved). */
  message?: string;
  /** The first problem per field, shown next to that field (or in the form's status: see FormStatus). */
  fieldErrors?: Partial<Record<Field, string>>;
  /** What the person typed, handed back on error so the form can show it again (never a secret field). */
  values?: Partial<Record<Field, string>>;
};

/** The state every form starts in, before its first submission: `useActionState(action, initialState())`. */
export function initialState<Field extends string>(): ActionState<Field> {
  return { status: "idle" };
}
