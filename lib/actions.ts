/**
 * The shape every Server Action in this project follows: parse → authorize → mutate → invalidate →
 * return (or redirect). `defineAction` runs the five steps in that order, so an action file only
 * says what is specific to it. The README's "Add a Server Action" walks through it.
 *
 * The order is the point:
 * - nothing is authorized, written or invalidated unless the form parsed;
 * - nothing is written unless `authorize` let the caller through;
 * - tags are invalidated only after `mutate` resolved, so a failed write invalidates nothing;
 * - `updateTag` (not `revalidateTag`) because the person who made the change must see it on the
 *   very next render: it expires the tag at once, and the action's own response re-renders the page.
 */
import { updateTag } from "next/cache";
import { unstable_rethrow } from "next/navigation";
import { z } from "zod";

/** What a form shows after a submission; `useActionState` holds it between submissions. */
export type ActionState<Field extends string = string> = {
  status: "idle" | "error" | "success";
  /** A message about the whole form (refused, rate-limited, saved). */
  message?: string;
  /** The first problem per field, shown next to that field. */
  fieldErrors?: Partial<Record<Field, string>>;
  /** What the person typed, handed back on error so the form can show it again. */
  values?: Partial<Record<Field, string>>;
};

export const idleState: ActionState<never> = { status: "idle" };

/**
 * A refusal the person should read ("this post no longer exists"). Throw it from `mutate` to end
 * the action with an error state; any other error is logged and shown as a generic failure.
 */
export class ActionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ActionError";
  }
}

type FormSchema = z.ZodObject;
type FieldOf<S extends FormSchema> = Extract<keyof z.input<S>, string>;

export type ActionSpec<S extends FormSchema, Result> = {
  /** Step 1, parse: the form fields, by name. Strings only; a missing field arrives as "". */
  schema: S;
  /** Step 2, authorize: may this caller do this now? Return a message to refuse. */
  authorize?: (input: z.output<S>) => Promise<string | undefined>;
  /** Step 3, mutate: the write. Throw `ActionError` to refuse with a message. */
  mutate: (input: z.output<S>) => Promise<Result>;
  /** Step 4, invalidate: the tags the write changed, built with lib/tags.ts only. */
  tags: (input: z.output<S>, result: Result) => string[];
  /** Step 5, return: the state to show, or `redirect(...)` (which never returns). */
  onSuccess?: (
    input: z.output<S>,
    result: Result,
  ) => ActionState<FieldOf<S>> | Promise<ActionState<FieldOf<S>>>;
};

export type FormAction<Field extends string> = (
  previous: ActionState<Field>,
  formData: FormData,
) => Promise<ActionState<Field>>;

export function defineAction<S extends FormSchema, Result>(
  spec: ActionSpec<S, Result>,
): FormAction<FieldOf<S>> {
  return async (_previous, formData) => {
    const values = formValues(spec.schema, formData);

    const parsed = spec.schema.safeParse(values);
    if (!parsed.success) {
      return {
        status: "error",
        message: "Some fields need attention: see the messages next to them.",
        fieldErrors: firstErrorPerField<FieldOf<S>>(parsed.error),
        values,
      };
    }
    const input = parsed.data;

    const refusal = await spec.authorize?.(input);
    if (refusal !== undefined) return { status: "error", message: refusal, values };

    let result: Result;
    try {
      result = await spec.mutate(input);
    } catch (error) {
      unstable_rethrow(error); // redirect() and notFound() are control flow, not failures
      if (error instanceof ActionError) return { status: "error", message: error.message, values };
      console.error("Server Action failed:", error);
      return { status: "error", message: "Something went wrong while saving. Please try again.", values };
    }

    for (const tag of spec.tags(input, result)) updateTag(tag);

    return (await spec.onSuccess?.(input, result)) ?? { status: "success" };
  };
}

/** The schema's fields as strings, read from the form (Next adds `$ACTION_*` entries we ignore). */
function formValues<S extends FormSchema>(schema: S, formData: FormData): Record<FieldOf<S>, string> {
  const values = {} as Record<FieldOf<S>, string>;
  for (const name of Object.keys(schema.shape) as FieldOf<S>[]) {
    const value = formData.get(name);
    values[name] = typeof value === "string" ? value : "";
  }
  return values;
}

function firstErrorPerField<Field extends string>(error: z.ZodError): Partial<Record<Field, string>> {
  const errors: Partial<Record<Field, string>> = {};
  for (const issue of error.issues) {
    const field = issue.path[0];
    if (typeof field === "string" && !(field in errors)) errors[field as Field] = issue.message;
  }
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Form fields

/** Unicode control characters (C0, DEL, C1: category Cc), the first one without tab and newline. */
const CONTROL_EXCEPT_TAB_NEWLINE = /[^\P{Cc}\t\n]/u;
const CONTROL_OR_NEWLINE = /\p{Cc}/u;
/**
 * Invisible format characters (category Cf: zero-width space and joiner, right-to-left override,
 * soft hyphen, tag characters). In a one-line field such as a name they only serve to impersonate
 * ("admin" with a zero-width space) or to flip the text around it.
 */
const FORMAT_CHARACTER = /\p{Cf}/u;

/**
 * A text field as people type it: line endings normalized (browsers submit textareas with CRLF),
 * trimmed, required, at most `max` characters, and free of control characters. A single-line field
 * also refuses newlines, tabs and invisible format characters.
 */
export function textField(label: string, max: number, options: { multiline?: boolean } = {}) {
  const forbidden = options.multiline ? CONTROL_EXCEPT_TAB_NEWLINE : CONTROL_OR_NEWLINE;
  return z
    .string()
    .overwrite((value) => value.replace(/\r\n?/g, "\n"))
    .trim()
    .min(1, `Enter ${label}.`)
    .max(max, `${capitalize(label)} can be at most ${max} characters.`)
    .refine((value) => !forbidden.test(value), {
      message: options.multiline
        ? `${capitalize(label)} contains control characters; remove them.`
        : `${capitalize(label)} must be one line without control characters.`,
    })
    .refine((value) => options.multiline || !FORMAT_CHARACTER.test(value), {
      message: `${capitalize(label)} contains invisible formatting characters (such as a zero-width space or a right-to-left mark); type it again without them.`,
    });
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------------------------------------
// Messages

/** "1 minute", "14 minutes": how long until a rate limit's window `reset` (ms since epoch). */
export function tryAgainIn(reset: number, now: number = Date.now()): string {
  const minutes = Math.max(1, Math.ceil((reset - now) / 60_000));
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}
