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
 *
 * One way to refuse: throw `ActionError` (from `authorize` or `mutate`). Anything else that throws,
 * in any step, is logged with a request ID and shown as a generic message naming that ID: an
 * outage never reaches the error page, and its details never reach the browser.
 */
import { updateTag } from "next/cache";
import { unstable_rethrow } from "next/navigation";
import { z } from "zod";
import type { ActionState } from "./action-state";
import { describeError } from "./redis";

/**
 * A refusal the person should read ("this post no longer exists", "slow down"). Throw it from
 * `authorize` or `mutate`; with `field`, the message is shown as that field's error instead.
 */
export class ActionError extends Error {
  readonly field: string | undefined;
  constructor(message: string, options: { field?: string } = {}) {
    super(message);
    this.name = "ActionError";
    this.field = options.field;
  }
}

type FormSchema = z.ZodObject;
type FieldOf<S extends FormSchema> = Extract<keyof z.input<S>, string>;

export type ActionSpec<S extends FormSchema, Result> = {
  /** Names the action in the log (`add-comment`). */
  name: string;
  /** Step 1, parse: the form fields, by name. Strings only; a missing field arrives as "". */
  schema: S;
  /** Fields never handed back to the browser in `values` (a password). */
  secret?: readonly FieldOf<S>[];
  /** Step 2, authorize: may this caller do this now? Throw `ActionError` to refuse. */
  authorize?: (input: z.output<S>) => Promise<void>;
  /** Step 3, mutate: the write. Throw `ActionError` to refuse. */
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

type Step = "parse" | "authorize" | "mutate" | "invalidate" | "return";

/** One JSON line per unexpected failure: names and a short error description, never form values. */
export type ActionLogLine = {
  msg: "server-action";
  level: "error";
  action: string;
  step: Step;
  requestId: string;
  error: string;
};

/** What `defineAction` takes from outside, so a test can read the log and know the request ID. */
export type ActionDeps = { requestId: () => string; log: (line: ActionLogLine) => void };

export const defaultActionDeps: ActionDeps = {
  requestId: () => crypto.randomUUID(),
  log: (line) => console.error(JSON.stringify(line)),
};

export function defineAction<S extends FormSchema, Result>(
  spec: ActionSpec<S, Result>,
  deps: ActionDeps = defaultActionDeps,
): FormAction<FieldOf<S>> {
  return async (_previous, formData) => {
    const values = formValues(spec.schema, formData);
    const echoed = withoutSecrets(values, spec.secret ?? []);
    let step: Step = "parse";
    try {
      const parsed = spec.schema.safeParse(values);
      if (!parsed.success) {
        return {
          status: "error",
          message: "Some fields need attention: see the messages next to them.",
          fieldErrors: firstErrorPerField<FieldOf<S>>(parsed.error),
          values: echoed,
        };
      }
      const input = parsed.data;

      step = "authorize";
      await spec.authorize?.(input);

      step = "mutate";
      const result = await spec.mutate(input);

      step = "invalidate";
      for (const tag of spec.tags(input, result)) updateTag(tag);

      step = "return";
      return (await spec.onSuccess?.(input, result)) ?? { status: "success" };
    } catch (error) {
      unstable_rethrow(error); // redirect() and notFound() are control flow, not failures
      if (error instanceof ActionError) return refusal<FieldOf<S>>(error, echoed);
      const requestId = deps.requestId();
      deps.log({
        msg: "server-action",
        level: "error",
        action: spec.name,
        step,
        requestId,
        error: describeError(error),
      });
      return { status: "error", message: unexpectedFailure(step, requestId), values: echoed };
    }
  };
}

function refusal<Field extends string>(
  error: ActionError,
  values: Partial<Record<Field, string>>,
): ActionState<Field> {
  if (error.field === undefined) return { status: "error", message: error.message, values };
  return {
    status: "error",
    fieldErrors: { [error.field]: error.message } as Partial<Record<Field, string>>,
    values,
  };
}

/** Says whether the write happened: trying again is safe only when it certainly did not. */
function unexpectedFailure(step: Step, requestId: string): string {
  const owner = `If it keeps happening, the site owner can find request ${requestId} in the logs.`;
  switch (step) {
    case "parse":
    case "authorize":
      return `Something went wrong on the server and nothing was saved. Please try again. ${owner}`;
    case "mutate":
      return `Something went wrong on the server while saving, so your change may not have been saved. Reload the page to check before you try again. ${owner}`;
    case "invalidate":
    case "return":
      return `Your change was saved, but the page could not be refreshed: reload it to see the change. ${owner}`;
  }
}

function withoutSecrets<Field extends string>(
  values: Record<Field, string>,
  secret: readonly Field[],
): Partial<Record<Field, string>> {
  const echoed: Partial<Record<Field, string>> = { ...values };
  for (const name of secret) delete echoed[name];
  return echoed;
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
