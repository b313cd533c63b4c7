import { describe, expect, it } from "vitest";
import {
  checkDeclarations,
  checkScopePattern,
  DECLARATIONS,
  type EntityDeclaration,
  type EntityName,
  InvalidTagKeyError,
  MAX_TAG_LENGTH,
  parseTag,
  SCOPE_SHAPES,
  scopeCovers,
  TAG_SHAPES,
  tagOf,
  tags,
} from "@/lib/tags";
import { SLUG, testVocabulary } from "../setup/tag-vocabulary";

const declarations = Object.entries(DECLARATIONS) as [EntityName, EntityDeclaration][];

/** Keys no sane key rule accepts: each would make a tag that is ambiguous, invisible or over-long. */
const hostileKeys = (maxLength: number): [string, string][] => [
  ["empty", ""],
  ["too long", "x".repeat(maxLength + 1)],
  ["comma", "a,b"],
  ["space", "hello world"],
  ["non-ASCII", "café"],
  ["emoji", "post-🚀"],
  ["colon", "a:b"],
  ["slash", "a/b"],
  ["newline", "hello\n"],
  ["wildcard", "*"],
];

// These tests are derived from the declarations in lib/tags.ts: a new entity is covered by them
// without a new test.
describe.each(declarations)("entity %s", (entity, declaration) => {
  const builders: { list?: () => string; record?: (key: string) => string } = tags[entity];

  it("gets a builder for each tag it declares, and only those", () => {
    expect(typeof builders.list).toBe(declaration.list ? "function" : "undefined");
    expect(typeof builders.record).toBe(declaration.record ? "function" : "undefined");
  });

  const list = declaration.list;
  if (list) {
    it(`its list tag ${list.tag} parses back to the same tag, and is a known shape and scope`, () => {
      const tag = builders.list?.() ?? "";
      expect(tag).toBe(list.tag);
      const result = parseTag(tag);
      expect(result).toEqual({ ok: true, tag, parsed: { entity, kind: "list" } });
      if (result.ok) expect(tagOf(result.parsed)).toBe(tag);
      expect(TAG_SHAPES).toContain(tag);
      expect(SCOPE_SHAPES).toContain(tag);
      expect(checkScopePattern(tag)).toEqual({ ok: true });
    });
  }

  const record = declaration.record;
  if (record) {
    const { key, prefix } = record;

    it(`its record tag ${prefix}:<${key.name}> round-trips through parseTag and tagOf`, () => {
      for (const value of [key.example]) {
        const tag = builders.record?.(value) ?? "";
        expect(tag).toBe(`${prefix}:${value}`);
        expect(tag.length).toBeLessThanOrEqual(MAX_TAG_LENGTH);
        const result = parseTag(tag);
        expect(result).toEqual({ ok: true, tag, parsed: { entity, kind: "record", key: value } });
        if (result.ok) expect(tagOf(result.parsed)).toBe(tag);
      }
      expect(TAG_SHAPES).toContain(`${prefix}:<${key.name}>`);
    });

    it("refuses a key that is not a string (route params arrive untyped at build time)", () => {
      for (const bad of [undefined, null, 42]) {
        expect(() => builders.record?.(bad as unknown as string)).toThrow(InvalidTagKeyError);
      }
    });

    it("its longest key still makes a tag Next.js will assign", () => {
      expect(prefix.length + 1 + key.maxLength).toBeLessThanOrEqual(MAX_TAG_LENGTH);
    });

    it.each(hostileKeys(key.maxLength))("refuses a key with %s instead of truncating it", (_, bad) => {
      expect(() => builders.record?.(bad)).toThrow(InvalidTagKeyError);
      expect(() => builders.record?.(bad)).toThrow(new RegExp(`Invalid ${key.name} .* for a ${prefix} tag`));
      const parsed = parseTag(`${prefix}:${bad}`);
      expect(parsed.ok).toBe(false);
    });

    it("its scope patterns: the exact tag always, the wildcard unless declared off", () => {
      const tag = builders.record?.(key.example) ?? "";
      expect(checkScopePattern(tag)).toEqual({ ok: true });
      expect(scopeCovers(tag, tag)).toBe(true);
      const wildcard = record.scopeWildcard !== false;
      expect(checkScopePattern(`${prefix}:*`).ok).toBe(wildcard);
      expect(scopeCovers(`${prefix}:*`, tag)).toBe(wildcard);
      // A wildcard covers its own records only: never a list tag that starts with the prefix.
      for (const [, other] of declarations) {
        if (other.list) expect(scopeCovers(`${prefix}:*`, other.list.tag)).toBe(false);
      }
    });
  }
});

describe("the declarations", () => {
  it.each<[string, Record<string, EntityDeclaration>, RegExp]>([
    [
      "a list tag reused as a prefix",
      { a: { list: { tag: "x", about: "" } }, b: { record: { prefix: "x", key: SLUG, about: "" } } },
      /"x" is used by both/,
    ],
    [
      "two equal list tags",
      { a: { list: { tag: "x", about: "" } }, b: { list: { tag: "x", about: "" } } },
      /used by both/,
    ],
    [
      "a prefix with a colon",
      { a: { record: { prefix: "a:b", key: SLUG, about: "" } } },
      /record prefix "a:b"/,
    ],
    ["an upper-case list tag", { a: { list: { tag: "Posts", about: "" } } }, /list tag "Posts"/],
    [
      "a key too long for Next.js",
      {
        a: {
          record: {
            prefix: "abcdefghijklmnopqrstuvwxyz-abcdefghijklmnopqrstuvwxyz-abc",
            key: SLUG,
            about: "",
          },
        },
      },
      /Next.js ignores tags over 256/,
    ],
    ["an entity with no tag", { a: {} }, /neither a list nor a record/],
    [
      "an example that breaks its own rule",
      { a: { record: { prefix: "a", key: { ...SLUG, example: "-x" }, about: "" } } },
      /example key/,
    ],
  ])("refuse %s at load", (_, bad, message) => {
    expect(() => checkDeclarations(bad)).toThrow(message);
  });

  it("accept the project's own", () => {
    expect(() => checkDeclarations(DECLARATIONS)).not.toThrow();
  });
});

// The parser's and scopes' behaviour, on the fixed vocabulary the receiver's tests use (the same
// shapes as the demo's), so these keep passing when the demo's entities are replaced.
describe("parseTag", () => {
  it.each([
    ["Posts", /Unknown tag/],
    ["post", /Unknown tag/],
    ["post:", /invalid slug/],
    ["post:a,b", /invalid slug/],
    ["post:héllo", /invalid slug/],
    ["comment:hello", /Unknown tag/],
    ["", /cannot be empty/],
    ["x".repeat(257), /at most 256/],
    [`post:${"x".repeat(250)}`, /invalid slug/],
  ])("rejects %j", (tag, reason) => {
    const result = testVocabulary.parseTag(tag);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it("lists every known shape when a tag is unknown", () => {
    const result = testVocabulary.parseTag("postz");
    expect(result.ok).toBe(false);
    if (!result.ok) for (const shape of testVocabulary.shapes) expect(result.reason).toContain(shape);
  });

  it("is case-sensitive, as Next.js tags are", () => {
    expect(testVocabulary.parseTag("SITE").ok).toBe(false);
    expect(testVocabulary.parseTag("post:Hello").ok).toBe(true);
  });
});

describe("scopeCovers", () => {
  it.each([
    ["posts", "posts", true],
    ["posts", "post:a", false],
    ["post:*", "post:a", true],
    ["post:*", "posts", false],
    ["post:*", "comments:a", false],
    ["*", "site", true],
    ["post:a", "post:ab", false],
    // Free-form prefixes are not valid patterns, so they cover nothing.
    ["s*", "site", false],
    ["post*", "posts", false],
    ["post*", "post:a", false],
    ["comments*", "comments:a", false],
  ])("%s covers %s: %s", (pattern, tag, expected) => {
    expect(testVocabulary.scopeCovers(pattern, tag)).toBe(expected);
  });
});

describe("checkScopePattern", () => {
  it.each(["*", "site", "posts", "post:*", "comments:*", "post:hello-world", "comments:a.b"])(
    "accepts %s",
    (p) => {
      expect(testVocabulary.checkScopePattern(p)).toEqual({ ok: true });
    },
  );

  it.each(["s*", "post*", "p*", "**", "post:a*", "page:*", "pots", "post:", ":*", "*:*", "post:bad slug"])(
    "refuses %s, listing the valid shapes",
    (p) => {
      const result = testVocabulary.checkScopePattern(p);
      expect(result.ok).toBe(false);
      if (!result.ok) for (const shape of testVocabulary.scopeShapes) expect(result.reason).toContain(shape);
    },
  );

  it("derives the shapes from the declarations: *, the list tags, the wildcards, the record shapes", () => {
    const lists = declarations.flatMap(([, d]) => (d.list ? [d.list.tag] : []));
    const records = declarations.flatMap(([, d]) => (d.record ? [d.record] : []));
    expect(SCOPE_SHAPES).toEqual([
      "*",
      ...lists,
      ...records.filter((r) => r.scopeWildcard !== false).map((r) => `${r.prefix}:*`),
      ...records.map((r) => `${r.prefix}:<${r.key.name}>`),
    ]);
    expect(testVocabulary.scopeShapes).toEqual([
      "*",
      "site",
      "posts",
      "post:*",
      "comments:*",
      "post:<slug>",
      "comments:<slug>",
    ]);
  });
});
