import { describe, expect, it } from "vitest";
import {
  checkScopePattern,
  commentTags,
  InvalidTagKeyError,
  MAX_TAG_LENGTH,
  parseTag,
  postTags,
  SCOPE_SHAPES,
  scopeCovers,
  siteTag,
  TAG_SHAPES,
  tagOf,
} from "@/lib/tags";

const slugs = ["hello-world", "a", "Post_2026.v2", "x".repeat(200), "0-leading-digit"];

describe("tag builders", () => {
  it("every builder's output parses back to the same tag", () => {
    const built = [
      siteTag(),
      postTags.list(),
      ...slugs.flatMap((slug) => [postTags.record(slug), commentTags.forPost(slug)]),
    ];
    for (const tag of built) {
      const result = parseTag(tag);
      expect(result, tag).toMatchObject({ ok: true, tag });
      if (result.ok) expect(tagOf(result.parsed)).toBe(tag);
    }
  });

  it("the longest valid slug still makes a tag Next.js will assign", () => {
    expect(commentTags.forPost("x".repeat(200)).length).toBeLessThanOrEqual(MAX_TAG_LENGTH);
  });

  it.each([
    ["empty", ""],
    ["too long", "x".repeat(201)],
    ["comma", "a,b"],
    ["space", "hello world"],
    ["non-ASCII", "café"],
    ["emoji", "post-🚀"],
    ["colon", "a:b"],
    ["slash", "a/b"],
    ["leading dash", "-hello"],
    ["newline", "hello\n"],
  ])("rejects a slug with %s instead of truncating it", (_, slug) => {
    expect(() => postTags.record(slug)).toThrow(InvalidTagKeyError);
    expect(() => commentTags.forPost(slug)).toThrow(/Invalid post key/);
  });
});

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
    const result = parseTag(tag);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it("lists every known shape when a tag is unknown", () => {
    const result = parseTag("postz");
    expect(result.ok).toBe(false);
    if (!result.ok) for (const shape of TAG_SHAPES) expect(result.reason).toContain(shape);
  });

  it("is case-sensitive, as Next.js tags are", () => {
    expect(parseTag("SITE").ok).toBe(false);
    expect(parseTag("post:Hello").ok).toBe(true);
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
    expect(scopeCovers(pattern, tag)).toBe(expected);
  });
});

describe("checkScopePattern", () => {
  it.each(["*", "site", "posts", "post:*", "comments:*", "post:hello-world", "comments:a.b"])(
    "accepts %s",
    (p) => {
      expect(checkScopePattern(p)).toEqual({ ok: true });
    },
  );

  it.each(["s*", "post*", "p*", "**", "post:a*", "page:*", "pots", "post:", ":*", "*:*", "post:bad slug"])(
    "refuses %s, listing the valid shapes",
    (p) => {
      const result = checkScopePattern(p);
      expect(result.ok).toBe(false);
      if (!result.ok) for (const shape of SCOPE_SHAPES) expect(result.reason).toContain(shape);
    },
  );

  it("derives the shapes from the tag vocabulary", () => {
    expect(SCOPE_SHAPES).toEqual([
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
