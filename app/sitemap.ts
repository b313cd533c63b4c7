/**
 * `/sitemap.xml`: every post, with the time it last changed. Read through the cached, tagged post
 * list (lib/posts.ts), so the webhook that refreshes a post refreshes the sitemap too.
 */
import type { MetadataRoute } from "next";
import { siteEnv } from "@/lib/env";
import { getPostList } from "@/lib/posts";

export default async function sitemap(): Promise<MetadataRoute.Sitemap> {
  const { data: posts } = await getPostList();
  const site = siteEnv().url;
  // The list is newest first (lib/posts.ts), so the home page changed when its first post did.
  const newest = posts[0]?.updatedAt;
  return [
    { url: `${site}/`, ...(newest ? { lastModified: newest } : {}) },
    ...posts.map((post) => ({ url: `${site}/posts/${post.slug}`, lastModified: post.updatedAt })),
  ];
}
