/**
 * The tag vocabulary: the only place in the project where a cache tag string is built.
 *
 * Cached reads tag what they read with these builders; the revalidation receiver parses incoming
 * tags with `parseTag` so that a typo is a 400 instead of a silent no-op that leaves pages stale.
 *
 * Tags are entity-level on purpose: one post edit invalidates that post (and the lists that show
 * it), not every post. Next.js assigns at most 256 characters per tag and silently ignores longer
 * ones, so a key that would make an invalid tag is rejected here, never truncated.
 */

/** Next.js silently never assigns a tag longer than this. */
export const MAX_TAG_LENGTH = 256;

/**
 * A record key inside a tag: a post slug. ASCII letters, digits, `-`, `_` and `.`, starting with a
 * letter or digit, at most 200 characters, so that the longest tag still fits in 256 characters.
 */
const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
export const KEY_RULE = "1 to 200 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit";

export class InvalidTagKeyError extends Error {
  constructor(entity: string, key: string) {
    super(
      `Invalid ${entity} key ${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)}: use ${KEY_RULE}.`,
    );
    this.name = "InvalidTagKeyError";
  }
}

export function isValidKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

function keyed(prefix: string, entity: string) {
  return (key: string): string => {
    if (!isValidKey(key)) throw new InvalidTagKeyError(entity, key);
    return `${prefix}:${key}`;
  };
}

/** Every page reads under this tag: revalidating it refreshes the whole site. */
export const siteTag = (): string => "site";

export const postTags = {
  /** Any list of posts (the home page). */
  list: (): string => "posts",
  /** One post: its page, and every list that shows its title. */
  record: keyed("post", "post"),
};

export const commentTags = {
  /** The comments shown under one post. */
  forPost: keyed("comments", "post"),
};

/** The shapes a valid tag can have, for error messages and docs. */
export const TAG_SHAPES = ["site", "posts", "post:<slug>", "comments:<slug>"] as const;

export type ParsedTag =
  | { kind: "site" }
  | { kind: "posts" }
  | { kind: "post"; slug: string }
  | { kind: "comments"; slug: string };

export type TagParseResult = { ok: true; tag: string; parsed: ParsedTag } | { ok: false; reason: string };

const fixed: Record<string, ParsedTag> = {
  site: { kind: "site" },
  posts: { kind: "posts" },
};

const prefixed = { post: "post", comments: "comments" } as const;

/**
 * Says whether `value` is a tag this app assigns. The reason names what is wrong and lists the
 * known shapes, so the sender can fix a typo instead of revalidating nothing.
 */
export function parseTag(value: string): TagParseResult {
  const known = `Known tag shapes: ${TAG_SHAPES.join(", ")} (slug: ${KEY_RULE}).`;
  if (value.length === 0) return { ok: false, reason: `A tag cannot be empty. ${known}` };
  if (value.length > MAX_TAG_LENGTH) {
    return {
      ok: false,
      reason: `A tag is at most ${MAX_TAG_LENGTH} characters; this one has ${value.length}. ${known}`,
    };
  }
  const simple = fixed[value];
  if (simple) return { ok: true, tag: value, parsed: simple };

  const colon = value.indexOf(":");
  if (colon > 0) {
    const prefix = value.slice(0, colon);
    const key = value.slice(colon + 1);
    if (prefix === prefixed.post || prefix === prefixed.comments) {
      if (!isValidKey(key)) {
        return {
          ok: false,
          reason: `Tag ${JSON.stringify(preview(value))} has an invalid slug: use ${KEY_RULE}.`,
        };
      }
      return { ok: true, tag: value, parsed: { kind: prefix, slug: key } };
    }
  }
  return { ok: false, reason: `Unknown tag ${JSON.stringify(preview(value))}. ${known}` };
}

/** The tag string for a parsed tag: `tagOf(parseTag(t).parsed) === t` for every valid `t`. */
export function tagOf(parsed: ParsedTag): string {
  switch (parsed.kind) {
    case "site":
      return siteTag();
    case "posts":
      return postTags.list();
    case "post":
      return postTags.record(parsed.slug);
    case "comments":
      return commentTags.forPost(parsed.slug);
  }
}

function preview(value: string): string {
  return value.length > 60 ? `${value.slice(0, 60)}…` : value;
}

// ---------------------------------------------------------------------------------------------
// Token scopes

/** The keyed prefixes a scope can cover whole, as `<prefix>:*`. */
export const SCOPE_PREFIXES = Object.values(prefixed);

/**
 * The only valid scope patterns: `*` (every tag), an exact tag (`posts`, `post:hello-world`), or a
 * known prefix with `:*` (`post:*`). Anything else (`s*`, `post*`, `p*st:*`) is refused when a
 * token is minted and when one is verified: a free-form prefix match would let `s*` cover `site`
 * and `post*` cover every `posts` list, which is not what anyone reading the scope expects.
 */
export const SCOPE_SHAPES = [
  "*",
  ...Object.keys(fixed),
  ...SCOPE_PREFIXES.map((prefix) => `${prefix}:*`),
  ...SCOPE_PREFIXES.map((prefix) => `${prefix}:<slug>`),
] as const;

export function checkScopePattern(pattern: string): { ok: true } | { ok: false; reason: string } {
  if (pattern === "*") return { ok: true };
  if (pattern.endsWith(":*")) {
    const prefix = pattern.slice(0, -2);
    if ((SCOPE_PREFIXES as string[]).includes(prefix)) return { ok: true };
  } else if (!pattern.includes("*") && parseTag(pattern).ok) {
    return { ok: true };
  }
  return {
    ok: false,
    reason: `Scope pattern ${JSON.stringify(preview(pattern))} is not valid: use one of ${SCOPE_SHAPES.join(", ")} (slug: ${KEY_RULE}).`,
  };
}

/** Whether a (valid) scope pattern covers a tag: `*` covers every tag, `post:*` every `post:<slug>`. */
export function scopeCovers(pattern: string, tag: string): boolean {
  if (!checkScopePattern(pattern).ok) return false;
  if (pattern === "*") return true;
  if (pattern.endsWith(":*")) return tag.startsWith(pattern.slice(0, -1));
  return pattern === tag;
}
