/**
 * `/feed.xml`: an RSS 2.0 feed of the newest posts. A GET route handler with no request data is
 * prerendered and cached like a page; it reads the cached, tagged post list (lib/posts.ts), so the
 * webhook that refreshes a post refreshes the feed too.
 */
import { siteEnv } from "@/lib/env";
import { getPostList, type PostSummary } from "@/lib/posts";

/** Feed readers poll; 20 items is what they show. */
const FEED_ITEMS = 20;

export async function GET(): Promise<Response> {
  const { data: posts } = await getPostList();
  return new Response(rss(siteEnv().url, posts.slice(0, FEED_ITEMS)), {
    headers: { "Content-Type": "application/rss+xml; charset=utf-8" },
  });
}

function rss(site: string, posts: PostSummary[]): string {
  const items = posts
    .map((post) => {
      const link = `${site}/posts/${post.slug}`;
      return `    <item>
      <title>${xml(post.title)}</title>
      <link>${xml(link)}</link>
      <guid isPermaLink="true">${xml(link)}</guid>
      <pubDate>${new Date(post.updatedAt).toUTCString()}</pubDate>
    </item>`;
    })
    .join("\n");
  const updated = posts[0]?.updatedAt;
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Fresh Pages</title>
    <link>${xml(`${site}/`)}</link>
    <description>Posts kept fresh by tags: webhooks and Server Actions.</description>
    <atom:link href="${xml(`${site}/feed.xml`)}" rel="self" type="application/rss+xml"/>
${updated ? `    <lastBuildDate>${new Date(updated).toUTCString()}</lastBuildDate>\n` : ""}${items}
  </channel>
</rss>
`;
}

function xml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] ?? c,
  );
}
