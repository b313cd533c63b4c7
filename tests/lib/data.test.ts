/**
 * The data layer against a real Redis (through the local endpoint the harness starts). Only the
 * uncached read/write functions are called: 'use cache', cacheTag and cacheLife need a Next.js
 * server and are exercised by the e2e suite.
 */
import { describe, expect, it } from "vitest";
import { addComment, MAX_COMMENTS_PER_POST, readComments } from "@/lib/comments";
import { type Post, postSchema, readPost, readPosts, writePost } from "@/lib/posts";
import { keys, redis } from "@/lib/redis";
import { demoPosts, seedDemoContent } from "@/lib/seed";

const unique = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

/**
 * Seeding runs against posts and a marker of the test's own: the demo posts and their marker are
 * shared with every other test file (and with a developer's `npm run dev` data), so nothing here
 * changes them, and a failing assertion leaves nothing behind that another test would trip over.
 */
describe("seeding", () => {
  const ownPosts = (): Post[] =>
    ["a", "b"].map((name) => ({
      slug: unique(`seed-${name}`),
      title: `Seeded ${name}`,
      body: `Body ${name}.`,
      updatedAt: "2026-01-05T09:00:00.000Z",
    }));

  it("the demo posts are valid posts", () => {
    expect(demoPosts.length).toBeGreaterThan(0);
    for (const post of demoPosts) expect(postSchema.safeParse(post).success).toBe(true);
  });

  it("writes the posts once, listed by their own dates, then only checks its marker", async () => {
    const posts = ownPosts();
    const marker = unique("vitest:seeded");
    expect(await seedDemoContent({ posts, marker })).toBe("seeded");
    for (const post of posts) expect(await readPost(post.slug)).toEqual(post);
    const index = await redis().zrange<string[]>(keys.postIndex(), 0, -1, { withScores: true });
    for (const post of posts) {
      expect(Number(index[index.indexOf(post.slug) + 1])).toBe(Date.parse(post.updatedAt));
    }
    expect(await redis().get(marker)).not.toBeNull();
    expect(await seedDemoContent({ posts, marker })).toBe("already seeded");
  });

  it("never brings back a seeded post deleted since", async () => {
    const posts = ownPosts();
    const marker = unique("vitest:seeded");
    await seedDemoContent({ posts, marker });
    const [gone] = posts;
    await redis().del(keys.post(gone?.slug ?? ""));
    await seedDemoContent({ posts, marker });
    expect(await readPost(gone?.slug ?? "")).toBeNull();
  });

  it("is idempotent under concurrency and never overwrites content changed before it ran", async () => {
    const posts = ownPosts();
    const marker = unique("vitest:seeded");
    const [changed, untouched] = posts as [Post, Post];
    const cms = { ...changed, title: `Changed by a CMS ${crypto.randomUUID()}` };
    await redis().set(keys.post(changed.slug), JSON.stringify(cms));
    const outcomes = await Promise.all([1, 2, 3].map(() => seedDemoContent({ posts, marker })));
    expect(outcomes).toContain("seeded");
    expect(await readPost(changed.slug)).toEqual(cms);
    expect(await readPost(untouched.slug)).toEqual(untouched);
  });
});

describe("posts", () => {
  it("reads an unknown or invalid slug as null", async () => {
    expect(await readPost(unique("missing"))).toBeNull();
    expect(await readPost("a,b")).toBeNull();
    expect(await readPost("../etc")).toBeNull();
  });

  it("writes a post and lists it first, with a server-set updatedAt", async () => {
    const slug = unique("written");
    const now = new Date(Date.now() + 60_000);
    const post = await writePost({ slug, title: "Fresh title", body: "Body ✓ 日本語" }, now);
    expect(post.updatedAt).toBe(now.toISOString());
    expect(await readPost(slug)).toEqual(post);
    const list = await readPosts();
    expect(list[0]).toEqual({ slug, title: "Fresh title", updatedAt: now.toISOString() });
  });

  it("refuses to write an invalid post instead of storing it", async () => {
    await expect(writePost({ slug: unique("bad"), title: "", body: "x" })).rejects.toThrow();
    await expect(writePost({ slug: "not a slug", title: "t", body: "x" })).rejects.toThrow();
  });

  it("reads a malformed stored value as null rather than failing the page", async () => {
    const slug = unique("corrupt");
    await redis().set(keys.post(slug), "{not json");
    expect(await readPost(slug)).toBeNull();
    await redis().set(keys.post(slug), JSON.stringify({ slug, title: 42 }));
    expect(await readPost(slug)).toBeNull();
  });
});

describe("comments", () => {
  it("appends comments in order and reads them back exactly", async () => {
    const slug = unique("commented");
    const a = await addComment(slug, { name: "Ada", text: "First 🚀" });
    const b = await addComment(slug, { name: "Grace", text: "Second\nwith a newline" });
    expect(await readComments(slug)).toEqual([a, b]);
    expect(a.id).not.toBe(b.id);
  });

  it("keeps only the newest comments of a post", async () => {
    const slug = unique("busy");
    const tx = redis().multi();
    for (let i = 0; i < MAX_COMMENTS_PER_POST; i++) {
      tx.rpush(
        keys.comments(slug),
        JSON.stringify({ id: `c${i}`, name: "n", text: `t${i}`, createdAt: new Date().toISOString() }),
      );
    }
    await tx.exec();
    const newest = await addComment(slug, { name: "Last", text: "newest" });
    const comments = await readComments(slug);
    expect(comments).toHaveLength(MAX_COMMENTS_PER_POST);
    expect(comments.at(-1)).toEqual(newest);
    expect(comments[0]?.text).toBe("t1");
  });

  it("reads no comments for an invalid slug", async () => {
    expect(await readComments("a,b")).toEqual([]);
  });
});
