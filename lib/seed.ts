/** The demo posts written on first use (see ensureSeeded in lib/posts.ts). */
export const seedPosts = [
  {
    slug: "hello-world",
    title: "Hello, world",
    body: "This post is served from the Next.js cache. Its page was rendered once and is reused until a tag it reads is invalidated.\n\nChange it in your CMS (or in Redis) and send a signed webhook to /api/revalidate: the next visits show the new text, without a redeploy.",
    updatedAt: "2026-01-05T09:00:00.000Z",
  },
  {
    slug: "stale-while-revalidate",
    title: "Stale-while-revalidate, explained",
    body: "revalidateTag(tag, 'max') marks cached entries stale. The next visitor still gets the old page, instantly, while Next.js renders the new one in the background; the visitor after that sees it.\n\nThat is the right trade for out-of-band changes such as a CMS publish: nobody waits, and the page is fresh within a request or two.",
    updatedAt: "2026-01-12T09:00:00.000Z",
  },
  {
    slug: "read-your-writes",
    title: "Read-your-writes with updateTag",
    body: "When a person changes something themselves, in a Server Action, they expect to see it at once. updateTag expires the tag immediately, so the render that follows the action reads fresh data.\n\nLeave a comment below to see it happen.",
    updatedAt: "2026-01-19T09:00:00.000Z",
  },
] as const;
