import Link from "next/link";
import { getPostList } from "@/lib/posts";
import { RenderedAt } from "./_components/rendered-at";

export default async function HomePage() {
  const { data: posts, renderedAt } = await getPostList();
  return (
    <>
      <h1>Posts</h1>
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
