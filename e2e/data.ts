/**
 * The e2e suites' view of the data: a client for the Redis the app under test uses, and what a CMS
 * does to it behind the app's back (create a post, change its title), so each test has posts of its
 * own and never changes the seeded ones other tests read.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { E2E } from "./env";

export function database(upstashUrl: string = E2E.upstashUrl): Redis {
  return new Redis({
    url: upstashUrl,
    token: E2E.upstashToken,
    automaticDeserialization: false,
    enableTelemetry: false,
  });
}

export type StoredPost = { slug: string; title: string; body: string; updatedAt: string };

export const unique = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;

/** A post of the test's own (titles are letters, digits and spaces, so they appear in HTML as they are). */
export async function createPost(db: Redis, title: string, body = "Original body."): Promise<StoredPost> {
  const now = new Date();
  const post = {
    slug: `e2e-${randomUUID().slice(0, 8)}`,
    title,
    body,
    updatedAt: now.toISOString(),
  };
  await db.set(`blog:post:${post.slug}`, JSON.stringify(post));
  await db.zadd("blog:posts", { score: now.getTime(), member: post.slug });
  return post;
}

/** What a CMS does: change its own database, telling the site nothing. */
export async function changeTitleBehindTheSitesBack(
  db: Redis,
  post: StoredPost,
  title: string,
): Promise<StoredPost> {
  const changed = { ...post, title, updatedAt: new Date().toISOString() };
  await db.set(`blog:post:${post.slug}`, JSON.stringify(changed));
  return changed;
}
