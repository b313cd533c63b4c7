import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { COMMENT_LIMITS, getComments } from "@/lib/comments";
import { getPost, readPosts } from "@/lib/posts";
import { CommentForm } from "../../_components/comment-form";
import { RenderedAt } from "../../_components/rendered-at";

type Props = { params: Promise<{ slug: string }> };

// Known posts are prerendered at build time; others render on first request and are cached then.
export async function generateStaticParams() {
  const posts = await readPosts();
  return posts.map(({ slug }) => ({ slug }));
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { slug } = await params;
  const { data: post } = await getPost(slug);
  return { title: post?.title ?? "Post not found" };
}

export default async function PostPage({ params }: Props) {
  const { slug } = await params;
  const { data: post, renderedAt } = await getPost(slug);
  if (!post) notFound();

  return (
    <article className="post">
      <header>
        <h1 data-testid="post-title">{post.title}</h1>
        <p className="muted">
          Updated <time dateTime={post.updatedAt}>{post.updatedAt.replace("T", " ").slice(0, 16)} UTC</time>
          {/* Shown to everyone so this page stays fully cached (no cookie read); the edit page asks for sign-in. */}
          {" · "}
          <Link href={`/posts/${post.slug}/edit`} data-testid="edit-link">
            Edit
          </Link>
        </p>
      </header>
      <div className="post-body" data-testid="post-body">
        {post.body.split(/\n{2,}/).map((paragraph, i) => (
          // Paragraphs have no identity of their own; their order is the key.
          // biome-ignore lint/suspicious/noArrayIndexKey: static, never reordered
          <p key={i}>{paragraph}</p>
        ))}
      </div>
      <RenderedAt at={renderedAt} label="Post rendered" />

      <section id="comments" aria-labelledby="comments-heading" className="comments">
        <h2 id="comments-heading">Comments</h2>
        {/* No <Suspense> here: getComments is cached, so it needs none, and a boundary that resolves
            after the shell is revealed only by an inline script. Without JavaScript the reader
            would keep seeing the fallback instead of the comments. */}
        <CommentList slug={slug} />
        <CommentForm slug={post.slug} limits={COMMENT_LIMITS} />
      </section>
    </article>
  );
}

async function CommentList({ slug }: { slug: string }) {
  const { data: comments, renderedAt } = await getComments(slug);
  return (
    <>
      {comments.length === 0 ? (
        <p className="muted">No comments yet. Be the first.</p>
      ) : (
        <ol className="comment-list" data-testid="comment-list">
          {comments.map((comment) => (
            <li key={comment.id} className="comment">
              <p className="comment-meta">
                <strong>{comment.name}</strong>{" "}
                <time className="muted" dateTime={comment.createdAt}>
                  {comment.createdAt.replace("T", " ").slice(0, 16)} UTC
                </time>
              </p>
              <p className="comment-text">{comment.text}</p>
            </li>
          ))}
        </ol>
      )}
      <RenderedAt at={renderedAt} label="Comments rendered" />
    </>
  );
}
