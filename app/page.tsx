import Link from "next/link";
import { getPostList } from "@/lib/posts";
import { RenderedAt } from "./_components/rendered-at";

export default async function HomePage() {
  const { data: posts, renderedAt } = await getPostList();
  return (
    <>
      <h1>Posts</h1>
      <p className="lede" data-testid="what-this-is">
        Every page is served from Next.js&apos;s cache and kept fresh by tags: an admin edit shows at once
        (read-your-writes), a CMS change after its webhook (stale-while-revalidate). Try it (README, &quot;Try
        it&quot;): edit a post in <Link href="/admin">admin</Link>, then watch the{" "}
        <Link href="/admin/revalidations">revalidations</Link>.
      </p>
      <section aria-labelledby="posts-heading" className="card">
        <h2 id="posts-heading" className="visually-hidden">
          All posts
        </h2>
        {posts.length === 0 ? (
          <p>No posts yet.</p>
        ) : (
          <ul className="post-list">
            {posts.map((post) => (
              <li key={post.slug}>
                <Link href={`/posts/${post.slug}`}>{post.title}</Link>
                <span className="muted">
                  {" "}
                  · updated <time dateTime={post.updatedAt}>{post.updatedAt.slice(0, 10)}</time>
                </span>
              </li>
            ))}
          </ul>
        )}
        <RenderedAt at={renderedAt} />
      </section>
    </>
  );
}
