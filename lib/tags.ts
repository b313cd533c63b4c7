/**
 * The tag vocabulary: the only place in the project where a cache tag string is built.
 *
 * Each entity is declared once, in `ENTITIES` below: its list tag, its record tag's prefix and key
 * rule, and whether a token scope may name all its records with `<prefix>:*`. Everything else is
 * derived from those declarations: the typed builders (`postTags.record(slug)`), the known shapes
 * the receiver lists in its errors, `parseTag`, `tagOf`, the scope patterns, and the tag tests,
 * which iterate over the declarations. Adding an entity is one more entry.
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

/** What a key inside a record tag may look like (`hello-world` in `post:hello-world`). */
export type KeyRule = {
  /** The key's name in shapes and messages: `post:<slug>`. */
  name: string;
  pattern: RegExp;
  /** The longest key `pattern` accepts: with the prefix it must fit in `MAX_TAG_LENGTH`. */
  maxLength: number;
  /** The rule in words, for error messages. */
  rule: string;
  /** A valid key, for docs and the derived tests. */
  example: string;
};

/**
 * A post slug: ASCII letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most
 * 200 characters, so that the longest tag still fits in 256 characters.
 */
export const SLUG: KeyRule = {
  name: "slug",
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/,
  maxLength: 200,
  rule: "1 to 200 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit",
  example: "hello-world",
};

export type EntityDeclaration = {
  /** A tag with no key, for every list of the entity (`posts`), or for everything (`site`). */
  list?: {
    tag: string;
    about: string;
    /**
     * The paths of pages that show the list (`/`, `/feed.xml`). Only used to answer a sender that
     * asks to revalidate one of these paths with the tag to send instead (lib/revalidation/paths.ts).
     */
    pages?: readonly string[];
  };
  /** The tag of one record: `<prefix>:<key>`. */
  record?: {
    prefix: string;
    key: KeyRule;
    about: string;
    /** The path of the record's page with `:key` for the key (`/posts/:key`), for the same answer. */
    page?: string;
    /**
     * Whether a token scope may cover every record at once with `<prefix>:*` (default true).
     * Exact tags are always valid scope patterns.
     */
    scopeWildcard?: boolean;
  };
};

/**
 * The entities whose reads are cached. This is the one edit that adds an entity: a `product`
 * with `list: { tag: "products", … }` and `record: { prefix: "product", key: … }` gets
 * `tags.product.list()` and `tags.product.record(id)`, parsing, receiver validation, scope
 * patterns and tests.
 */
const ENTITIES = {
  site: {
    list: {
      tag: "site",
      about: "Every page reads under this tag: revalidating it refreshes the whole site.",
    },
  },
  post: {
    list: {
      tag: "posts",
      about: "Any list of posts (the home page, the sitemap, the feed).",
      pages: ["/", "/feed.xml", "/sitemap.xml"],
    },
    record: {
      prefix: "post",
      key: SLUG,
      about: "One post: its page, and every list that shows its title.",
      page: "/posts/:key",
    },
  },
  comments: {
    record: {
      prefix: "comments",
      key: SLUG,
      about: "The comments shown under one post (keyed by its slug).",
    },
  },
} as const satisfies Record<string, EntityDeclaration>;

type Entities = typeof ENTITIES;
export type EntityName = keyof Entities;

/** The builders an entity gets: `list()` when it declares a list tag, `record(key)` for a record tag. */
export type TagBuilders<D extends EntityDeclaration> = (D extends { list: object }
  ? { list: () => string }
  : unknown) &
  (D extends { record: object } ? { record: (key: string) => string } : unknown);

export class InvalidTagKeyError extends Error {
  constructor(prefix: string, rule: KeyRule, key: unknown) {
    const shown = typeof key === "string" ? JSON.stringify(preview(key, 40)) : `(${typeof key})`;
    super(`Invalid ${rule.name} ${shown} for a ${prefix} tag: use ${rule.rule}.`);
    this.name = "InvalidTagKeyError";
  }
}

/** Checks the declarations once, at load: a clash would make two entities share a tag. */
export function checkDeclarations(entities: Record<string, EntityDeclaration>): void {
  const fail = (message: string): never => {
    throw new Error(`lib/tags.ts: ${message}`);
  };
  const taken = new Map<string, string>();
  const claim = (name: string, owner: string) => {
    const other = taken.get(name);
    if (other !== undefined)
      fail(`"${name}" is used by both ${other} and ${owner}; each tag name must be unique.`);
    taken.set(name, owner);
  };
  for (const [entity, declaration] of Object.entries(entities)) {
    if (!declaration.list && !declaration.record)
      fail(`entity "${entity}" declares neither a list nor a record tag.`);
    if (declaration.list) {
      if (!/^[a-z][a-z0-9-]*$/.test(declaration.list.tag)) {
        fail(`list tag "${declaration.list.tag}" of "${entity}": use lowercase letters, digits and '-'.`);
      }
      claim(declaration.list.tag, `the list tag of "${entity}"`);
    }
    if (declaration.record) {
      const { prefix, key } = declaration.record;
      if (!/^[a-z][a-z0-9-]*$/.test(prefix)) {
        fail(`record prefix "${prefix}" of "${entity}": use lowercase letters, digits and '-'.`);
      }
      claim(prefix, `the record prefix of "${entity}"`);
      if (prefix.length + 1 + key.maxLength > MAX_TAG_LENGTH) {
        fail(
          `"${prefix}:<${key.name}>" can be ${prefix.length + 1 + key.maxLength} characters; Next.js ignores tags over ${MAX_TAG_LENGTH}. Lower the key's maxLength.`,
        );
      }
      if (!key.pattern.test(key.example)) fail(`the example key of "${entity}" does not match its pattern.`);
    }
  }
}

function buildersOf<D extends EntityDeclaration>(declaration: D): TagBuilders<D> {
  const builders: { list?: () => string; record?: (key: string) => string } = {};
  const { list, record } = declaration;
  if (list) builders.list = () => list.tag;
  if (record) {
    builders.record = (key: string) => {
      if (!isValidRecordKey(record.key, key)) throw new InvalidTagKeyError(record.prefix, record.key, key);
      return `${record.prefix}:${key}`;
    };
  }
  return builders as TagBuilders<D>;
}

function isValidRecordKey(rule: KeyRule, key: unknown): key is string {
  // Not only strings reach here: Next.js hands route params through untyped at build time.
  return typeof key === "string" && key.length <= rule.maxLength && rule.pattern.test(key);
}

/** The declarations, read-only: the tag tests and docs iterate over them. */
export const DECLARATIONS: Readonly<Record<EntityName, EntityDeclaration>> = ENTITIES;

/** Every entity's builders: `tags.post.record(slug)`. */
export const tags = Object.fromEntries(
  Object.entries(ENTITIES).map(([name, declaration]) => [name, buildersOf(declaration)]),
) as { [E in EntityName]: TagBuilders<Entities[E]> };

// The names call sites use. A new entity can use `tags.<name>` directly or get an alias here.
/** Every page reads under this tag: revalidating it refreshes the whole site. */
export const siteTag = tags.site.list;
export const postTags = tags.post;
export const commentTags = {
  /** The comments shown under one post. */
  forPost: tags.comments.record,
};

/** Whether `key` is a valid post slug (the key rule of post and comment tags). */
export function isValidKey(key: unknown): key is string {
  return isValidRecordKey(SLUG, key);
}
export const KEY_RULE = SLUG.rule;

// ---------------------------------------------------------------------------------------------
// Parsing and scopes: a vocabulary derived from declarations

export type ParsedTag = { entity: string; kind: "list" } | { entity: string; kind: "record"; key: string };

export type TagProblem = "empty" | "too_long" | "invalid_key" | "unknown";

export type TagParseResult =
  | { ok: true; tag: string; parsed: ParsedTag }
  | { ok: false; problem: TagProblem; reason: string };

export type ScopeCheck = { ok: true } | { ok: false; reason: string };

/**
 * What the receiver needs to know about tags, derived from a set of declarations. The app's is
 * built from `ENTITIES` below; the receiver's tests build one from fixed declarations of their
 * own, so replacing the demo's entities with yours leaves them passing.
 */
export type TagVocabulary = {
  /** The shapes a valid tag can have (`posts`, `post:<slug>`), for error messages and docs. */
  shapes: readonly string[];
  /** The record prefixes a scope can cover whole, as `<prefix>:*`. */
  scopePrefixes: readonly string[];
  /** Every valid scope pattern's shape: `*`, the list tags, `<prefix>:*`, `<prefix>:<key>`. */
  scopeShapes: readonly string[];
  /**
   * Says whether `value` is a tag this app assigns. The reason names what is wrong and lists the
   * known shapes, so the sender can fix a typo instead of revalidating nothing.
   */
  parseTag(value: string): TagParseResult;
  /**
   * The only valid scope patterns: `*` (every tag), an exact tag (`posts`, `post:hello-world`), or
   * a declared prefix with `:*` (`post:*`). Anything else (`s*`, `post*`, `p*st:*`) is refused when
   * a token is minted and when one is verified: a free-form prefix match would let `s*` cover
   * `site` and `post*` cover every `posts` list, which is not what anyone reading the scope expects.
   */
  checkScopePattern(pattern: string): ScopeCheck;
  /** Whether a (valid) scope pattern covers a tag: `*` covers every tag, `post:*` every `post:<slug>`. */
  scopeCovers(pattern: string, tag: string): boolean;
  /** The tag of the declared page at `path` (`/posts/hello-world` → `post:hello-world`), if any. */
  tagForPage(path: string): string | undefined;
};

export function createVocabulary(entities: Readonly<Record<string, EntityDeclaration>>): TagVocabulary {
  checkDeclarations(entities);
  const declared = Object.entries(entities);
  const listTags = new Map(
    declared.flatMap(([entity, d]) => (d.list ? [[d.list.tag, entity] as const] : [])),
  );
  const records = declared.flatMap(([entity, d]) => (d.record ? [{ entity, ...d.record }] : []));
  const recordPrefixes = new Map(records.map((record) => [record.prefix, record]));

  const recordShapes = records.map(({ prefix, key }) => `${prefix}:<${key.name}>`);
  const shapes = [...listTags.keys(), ...recordShapes];
  const keyRules = [...new Map(records.map(({ key }) => [key.name, key.rule])).entries()]
    .map(([name, rule]) => `${name}: ${rule}`)
    .join("; ");
  const rules = keyRules ? ` (${keyRules})` : "";
  const scopePrefixes = records.filter((r) => r.scopeWildcard !== false).map((r) => r.prefix);
  const scopeShapes = [
    "*",
    ...listTags.keys(),
    ...scopePrefixes.map((prefix) => `${prefix}:*`),
    ...recordShapes,
  ];

  function parseTag(value: string): TagParseResult {
    const refuse = (problem: TagProblem, why: string): TagParseResult => ({
      ok: false,
      problem,
      reason: `${why} Known tag shapes: ${shapes.join(", ")}${rules}.`,
    });
    if (value.length === 0) return refuse("empty", "A tag cannot be empty.");
    if (value.length > MAX_TAG_LENGTH) {
      return refuse(
        "too_long",
        `A tag is at most ${MAX_TAG_LENGTH} characters; this one has ${value.length}.`,
      );
    }
    const listOf = listTags.get(value);
    if (listOf) return { ok: true, tag: value, parsed: { entity: listOf, kind: "list" } };

    const colon = value.indexOf(":");
    const record = colon > 0 ? recordPrefixes.get(value.slice(0, colon)) : undefined;
    if (record) {
      const key = value.slice(colon + 1);
      if (!isValidRecordKey(record.key, key)) {
        return refuse(
          "invalid_key",
          `Tag ${JSON.stringify(preview(value))} has an invalid ${record.key.name}: use ${record.key.rule}.`,
        );
      }
      return { ok: true, tag: value, parsed: { entity: record.entity, kind: "record", key } };
    }
    return refuse("unknown", `Unknown tag ${JSON.stringify(preview(value))}.`);
  }

  function checkScopePattern(pattern: string): ScopeCheck {
    if (pattern === "*") return { ok: true };
    if (pattern.endsWith(":*")) {
      if (scopePrefixes.includes(pattern.slice(0, -2))) return { ok: true };
    } else if (!pattern.includes("*") && parseTag(pattern).ok) {
      return { ok: true };
    }
    return {
      ok: false,
      reason: `Scope pattern ${JSON.stringify(preview(pattern))} is not valid: use one of ${scopeShapes.join(", ")}${rules}.`,
    };
  }

  function scopeCovers(pattern: string, tag: string): boolean {
    if (!checkScopePattern(pattern).ok) return false;
    if (pattern === "*") return true;
    if (pattern.endsWith(":*")) return tag.startsWith(pattern.slice(0, -1));
    return pattern === tag;
  }

  const listPages = new Map(
    declared.flatMap(([, d]) =>
      d.list ? (d.list.pages ?? []).map((page) => [page, d.list?.tag ?? ""] as const) : [],
    ),
  );
  const recordPages = records.flatMap(({ page, prefix, key }) => {
    if (!page) return [];
    const at = page.indexOf(":key");
    if (at < 0) return [];
    return [{ before: page.slice(0, at), after: page.slice(at + ":key".length), prefix, key }];
  });

  function tagForPage(path: string): string | undefined {
    const list = listPages.get(path);
    if (list) return list;
    for (const { before, after, prefix, key } of recordPages) {
      if (!path.startsWith(before) || !path.endsWith(after)) continue;
      const value = path.slice(before.length, path.length - after.length);
      if (isValidRecordKey(key, value)) return `${prefix}:${value}`;
    }
    return undefined;
  }

  return { shapes, scopePrefixes, scopeShapes, parseTag, checkScopePattern, scopeCovers, tagForPage };
}

/** This app's vocabulary, from `ENTITIES`. */
export const vocabulary: TagVocabulary = createVocabulary(DECLARATIONS);
export const TAG_SHAPES = vocabulary.shapes;
export const SCOPE_PREFIXES = vocabulary.scopePrefixes;
export const SCOPE_SHAPES = vocabulary.scopeShapes;
export const { parseTag, checkScopePattern, scopeCovers } = vocabulary;

/** The tag string for a parsed tag of this app: `tagOf(parseTag(t).parsed) === t` for every valid `t`. */
export function tagOf(parsed: ParsedTag): string {
  const builders: { list?: () => string; record?: (key: string) => string } | undefined =
    tags[parsed.entity as EntityName];
  const built = parsed.kind === "list" ? builders?.list?.() : builders?.record?.(parsed.key);
  if (built === undefined) throw new Error(`Entity "${parsed.entity}" has no ${parsed.kind} tag.`);
  return built;
}

function preview(value: string, max = 60): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
