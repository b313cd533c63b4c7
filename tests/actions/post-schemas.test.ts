/** Parsing: the blog demo's form schemas (trimming, bounds, empties, control characters). */
import { describe, expect, it } from "vitest";
import { commentInput, postEditInput } from "@/app/posts/[slug]/schemas";
import { COMMENT_LIMITS } from "@/lib/comments";
import { POST_LIMITS, postSchema } from "@/lib/posts";

const comment = (fields: Partial<Record<"slug" | "name" | "text", string>>) =>
  commentInput.safeParse({ slug: "hello-world", name: "Ada", text: "Nice post.", ...fields });

const firstError = (result: {
  success: boolean;
  error?: { issues: { path: PropertyKey[]; message: string }[] };
}) => result.error?.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`)[0];

describe("commentInput", () => {
  it("trims both fields", () => {
    expect(comment({ name: "  Ada \t", text: "\n  Nice post.  \n" }).data).toEqual({
      slug: "hello-world",
      name: "Ada",
      text: "Nice post.",
    });
  });

  it("refuses empty and whitespace-only values, naming the field", () => {
    expect(firstError(comment({ name: "" }))).toBe("name: Enter your name.");
    expect(firstError(comment({ name: " \t " }))).toBe("name: Enter your name.");
    expect(firstError(comment({ text: "\r\n \n" }))).toBe("text: Enter a comment.");
  });

  it("bounds each field by COMMENT_LIMITS, counted after trimming", () => {
    expect(comment({ name: "n".repeat(COMMENT_LIMITS.name) }).success).toBe(true);
    expect(comment({ name: ` ${"n".repeat(COMMENT_LIMITS.name)} ` }).success).toBe(true);
    expect(firstError(comment({ name: "n".repeat(COMMENT_LIMITS.name + 1) }))).toBe(
      `name: Your name can be at most ${COMMENT_LIMITS.name} characters.`,
    );
    expect(comment({ text: "t".repeat(COMMENT_LIMITS.text) }).success).toBe(true);
    expect(firstError(comment({ text: "t".repeat(COMMENT_LIMITS.text + 1) }))).toBe(
      `text: A comment can be at most ${COMMENT_LIMITS.text} characters.`,
    );
  });

  it("keeps newlines and tabs in the text, normalizing CRLF (how browsers submit textareas)", () => {
    expect(comment({ text: "line 1\r\n\tline 2\rline 3" }).data?.text).toBe("line 1\n\tline 2\nline 3");
    // 2001 characters as submitted, 2000 as typed: a line break counts once, as the browser showed it.
    const submitted = `${"a".repeat(1000)}\r\n${"a".repeat(999)}`;
    expect(submitted).toHaveLength(COMMENT_LIMITS.text + 1);
    expect(comment({ text: submitted }).success).toBe(true);
  });

  it.each([
    ["NUL", "\u0000"],
    ["BEL", "\u0007"],
    ["vertical tab", "\u000B"],
    ["ESC", "\u001B"],
    ["DEL", "\u007F"],
    ["C1 next line", "\u0085"],
  ])("refuses a %s in either field", (_name, char) => {
    expect(firstError(comment({ text: `ding${char}dong` }))).toBe(
      "text: A comment contains control characters; remove them.",
    );
    expect(firstError(comment({ name: `A${char}da` }))).toBe(
      "name: Your name must be one line without control characters.",
    );
  });

  it("refuses newlines and tabs inside the one-line name", () => {
    expect(comment({ name: "Ada\nLovelace" }).success).toBe(false);
    expect(comment({ name: "Ada\tLovelace" }).success).toBe(false);
  });

  it("accepts ordinary Unicode (accents, emoji, right-to-left scripts)", () => {
    expect(comment({ name: "Zoë 🙂", text: "שלום — ça va ?" }).success).toBe(true);
  });

  it("refuses a slug that could not be a post (it is a hidden field anyone can change)", () => {
    expect(firstError(comment({ slug: "../etc/passwd" }))).toMatch(/^slug: /);
    expect(comment({ slug: "" }).success).toBe(false);
    expect(comment({ slug: "a,b" }).success).toBe(false);
  });

  it("refuses non-strings (the action maps missing fields and files to empty strings first)", () => {
    expect(commentInput.safeParse({ slug: "hello-world", name: 42, text: null }).success).toBe(false);
  });
});

describe("postEditInput", () => {
  const edit = (fields: Partial<Record<"slug" | "title" | "body" | "intent", string>>) =>
    postEditInput.safeParse({ slug: "hello-world", title: "Title", body: "Body.", ...fields });

  it("trims, bounds and refuses control characters like the comment form", () => {
    expect(edit({ title: "  New title  ", body: "\n\nPara 1\r\n\r\nPara 2\n" }).data).toEqual({
      slug: "hello-world",
      title: "New title",
      body: "Para 1\n\nPara 2",
      intent: "publish",
    });
    expect(firstError(edit({ title: "   " }))).toBe("title: Enter a title.");
    expect(firstError(edit({ body: "" }))).toBe("body: Enter the text.");
    expect(edit({ title: "t".repeat(POST_LIMITS.title) }).success).toBe(true);
    expect(firstError(edit({ title: "t".repeat(POST_LIMITS.title + 1) }))).toBe(
      `title: A title can be at most ${POST_LIMITS.title} characters.`,
    );
    expect(firstError(edit({ body: "b".repeat(POST_LIMITS.body + 1) }))).toBe(
      `body: The text can be at most ${POST_LIMITS.body} characters.`,
    );
    expect(edit({ title: "Title\u0000" }).success).toBe(false);
    expect(edit({ title: "Two\nlines" }).success).toBe(false);
  });

  it("publishes unless Save draft was pressed, and refuses any other intent", () => {
    expect(edit({ intent: "" }).data?.intent).toBe("publish");
    expect(edit({ intent: "draft" }).data?.intent).toBe("draft");
    expect(firstError(edit({ intent: "delete" }))).toBe("intent: Press Publish or Save draft.");
  });

  it("never accepts what lib/posts.ts would refuse to store", () => {
    const longest = edit({ title: "t".repeat(POST_LIMITS.title), body: "b".repeat(POST_LIMITS.body) });
    expect(longest.success).toBe(true);
    expect(postSchema.safeParse({ ...longest.data, updatedAt: new Date().toISOString() }).success).toBe(true);
  });
});
