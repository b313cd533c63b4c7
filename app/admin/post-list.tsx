/** The blog demo's part of the admin page: a link to each post's edit page. */
import Link from "next/link";
import { readPosts } from "@/lib/posts";

export async function PostList() {
  const posts = await readPosts();
  return (
    <section className="card" aria-labelledby="posts-heading">
      <h2 id="posts-heading">Edit a post</h2>
      {posts.length === 0 ? (
        <p>No posts yet.</p>
      ) : (
        <ul className="post-list">
          {posts.map((post) => (
            <li key={post.slug}>
              <Link href={`/posts/${post.slug}/edit`}>{post.title}</Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
