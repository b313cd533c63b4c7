/**
 * Step 3: what the sender asks for. Content type, a body read with a hard byte cap, JSON, the
 * schema, the tags (parsed by the vocabulary in lib/tags.ts) and the revalidation ID.
 *
 * Every message names the problem and the fix without echoing the body back: a body can carry
 * anything, and error responses end up in CMS delivery logs that other people read.
 */
import { z } from "zod";
import { vocabulary as appVocabulary, MAX_TAG_LENGTH, type TagVocabulary } from "../tags";
import { type Issue, Rejection } from "./errors";
import { rejectPathBody } from "./paths";

export const MAX_BODY_BYTES = 32 * 1024;
export const MAX_TAGS = 64;
/** Our body is two levels deep; anything much deeper is an attack on the parser, not a request. */
export const MAX_JSON_DEPTH = 8;
export const ID_PATTERN = /^[A-Za-z0-9._:@/+=-]{1,200}$/;
export const ID_RULE = "1 to 200 characters of A-Z a-z 0-9 . _ : @ / + = -";

/** 415 unless the body is declared as JSON (`application/json`, optionally `; charset=utf-8`). */
export function assertJsonContentType(headers: Headers): void {
  const value = headers.get("content-type") ?? "";
  const [type, ...params] = value.split(";").map((part) => part.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith("charset="))?.slice("charset=".length);
  const utf8 = charset === undefined || charset === "utf-8" || charset === '"utf-8"';
  if (type !== "application/json" || !utf8) {
    throw new Rejection(
      "unsupported_media_type",
      "Send the body as JSON with `Content-Type: application/json` (UTF-8).",
    );
  }
}

/**
 * Reads at most `maxBytes` of the body, counting the bytes that actually arrive: `Content-Length`
 * can be absent (chunked) or wrong, so it only lets us refuse early, never accept.
 */
export async function readBoundedBody(request: Request, maxBytes = MAX_BODY_BYTES): Promise<Uint8Array> {
  const tooLarge = () =>
    new Rejection(
      "payload_too_large",
      `The body is larger than ${maxBytes} bytes. Send only { "id", "tags", "dryRun" }, at most ${MAX_TAGS} tags.`,
    );
  const declared = Number(request.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (!request.body) return new Uint8Array(0);

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Parses the bytes as UTF-8 JSON, refusing nesting deeper than `MAX_JSON_DEPTH` before parsing. */
export function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Rejection("invalid_json", "The body is not valid UTF-8 text. Send UTF-8 encoded JSON.");
  }
  if (nestingDepth(text) > MAX_JSON_DEPTH) {
    throw new Rejection(
      "invalid_json",
      `The body is nested more than ${MAX_JSON_DEPTH} levels deep. Send { "id": "...", "tags": ["..."] }.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Rejection(
      "invalid_json",
      'The body is not valid JSON. Send { "id": "...", "tags": ["..."] } with double-quoted keys and strings.',
    );
  }
}

/** The deepest bracket nesting outside strings; linear and allocation-free, so safe on hostile input. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

// Strict: an unknown key is almost always a typo ("tag", "ids") that would otherwise be ignored.
const bodySchema = z.strictObject(
  {
    id: z.string({ error: "must be a string" }).optional(),
    tags: z
      .array(
        z
          .string({ error: "must be a string" })
          .max(MAX_TAG_LENGTH, `must be at most ${MAX_TAG_LENGTH} characters`),
        { error: 'must be an array of tag strings, e.g. ["posts", "post:hello-world"]' },
      )
      .min(1, "must list at least one tag")
      .max(MAX_TAGS, `must list at most ${MAX_TAGS} tags; split larger batches`),
    dryRun: z.boolean({ error: "must be true or false" }).optional(),
  },
  { error: "must be a JSON object" },
);

export type RevalidationBody = {
  /** The body's `id`, unchecked: `resolveRevalidationId` validates it with the other sources. */
  id: string | undefined;
  /** Valid tags, each once, in first-seen order. */
  tags: string[];
  dryRun: boolean;
};

export function parseRevalidationBody(
  value: unknown,
  vocabulary: TagVocabulary = appVocabulary,
): RevalidationBody {
  rejectPathBody(value, vocabulary);
  const result = bodySchema.safeParse(value);
  if (!result.success) {
    const issues: Issue[] = result.error.issues.slice(0, 10).map((issue) => ({
      path: issue.path.map(String).join(".") || "(body)",
      message:
        issue.code === "unrecognized_keys"
          ? `unknown key(s) ${describeUnknownKeys(issue.keys)}: only "id", "tags" and "dryRun" are accepted`
          : issue.message,
    }));
    const first = issues[0];
    throw new Rejection(
      "invalid_body",
      `The body does not match { "id"?: string, "tags": string[], "dryRun"?: boolean }: ${first?.path}: ${first?.message}.`,
      { issues },
    );
  }
  const tags: string[] = [];
  const seen = new Set<string>();
  for (const [index, tag] of result.data.tags.entries()) {
    const parsed = vocabulary.parseTag(tag);
    if (!parsed.ok) {
      // The reason always lists the known shapes: the sender may have the prefix right and the
      // whole idea wrong.
      throw new Rejection("unknown_tag", `tags.${index}: ${parsed.reason}`, {
        issues: [{ path: `tags.${index}`, message: parsed.reason }],
      });
    }
    if (!seen.has(parsed.tag)) {
      seen.add(parsed.tag);
      tags.push(parsed.tag);
    }
  }
  return { id: result.data.id, tags, dryRun: result.data.dryRun ?? false };
}

/** At most three unknown keys, each cut to 40 characters: an error body must not echo a whole payload. */
export const MAX_ECHOED_KEYS = 3;

function describeUnknownKeys(keys: string[]): string {
  const shown = keys
    .slice(0, MAX_ECHOED_KEYS)
    .map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k));
  return `${shown.join(", ")}${keys.length > MAX_ECHOED_KEYS ? ` and ${keys.length - MAX_ECHOED_KEYS} more` : ""}`;
}

export type IdSource = "body" | "jti" | "idempotency-key" | "x-revalidation-id" | "webhook-id";

export type RevalidationId = { id: string; source: IdSource };

/**
 * The revalidation ID: the first of body `id`, token `jti`, `Idempotency-Key`, `X-Revalidation-Id`,
 * `webhook-id`. The first one present decides, valid or not: silently falling through to another
 * source would de-duplicate on an ID the sender did not mean.
 */
export function resolveRevalidationId(sources: {
  bodyId: string | undefined;
  jti: string | undefined;
  headers: Headers;
}): RevalidationId | undefined {
  const candidates: [IdSource, string | null | undefined][] = [
    ["body", sources.bodyId],
    ["jti", sources.jti],
    ["idempotency-key", unquote(sources.headers.get("idempotency-key"))],
    ["x-revalidation-id", sources.headers.get("x-revalidation-id")],
    ["webhook-id", sources.headers.get("webhook-id")],
  ];
  for (const [source, value] of candidates) {
    if (value === undefined || value === null) continue;
    if (!ID_PATTERN.test(value)) {
      const where =
        source === "body"
          ? "The body's `id`"
          : source === "jti"
            ? "The token's `jti`"
            : `The ${source} header`;
      throw new Rejection("invalid_id", `${where} is not a valid revalidation ID: use ${ID_RULE}.`);
    }
    return { id: value, source };
  }
  return undefined;
}

/** The Idempotency-Key draft defines the value as a structured-field string, i.e. quoted. */
function unquote(value: string | null): string | null {
  if (value && value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1);
  return value;
}
