import type { Metadata } from "next";
import { draftMode } from "next/headers";
import Link from "next/link";
import { notFound } from "next/navigation";
import { COMMENT_LIMITS, getComments } from "@/lib/comments";
import { getPost, type Post, readPostPreview } from "@/lib/posts";
import { RenderedAt } from "../../_components/rendered-at";
import { CommentForm } from "./comment-form";

type Props = { params: Promise<{ slug: string }> };

/**
 * Posts are rendered on their first request and cached from then on; none is prerendered at build.
 * Measured on Next 16.4.6: a path prerendered by `next build` is served, on the first request after
 * every invalidation of its tags, with its BUILD-TIME data (the regeneration is seeded with the
 * build's resume data cache without checking the tags), so a visitor right after a comment or a
 * webhook saw the post as it was at build. Paths first rendered at runtime revalidate correctly
 * (0 of 20 stale first reads). Cache Components requires at least one sample here to validate the
 * route at build, so it gets a slug that can never be a post (it fails `isValidKey`: a 404).
 */
export function generateStaticParams() {
  return [{ slug: "_build-sample" }];
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { slug } = await params;
  const { data: post } = await getPost(slug);
  return { title: post?.title ?? "Post not found" };
}

export default async function PostPage({ params }: Props) {
  const { slug } = await params;
  // Draft Mode (a preview link): the draft, read uncached, for this browser only. Next renders such a
  // request per request and saves none of it, so no other visitor can be served the draft.
  if ((await draftMode()).isEnabled) return <PostPreview slug={slug} />;
  const { data: post, renderedAt } = await getPost(slug);
  if (!post) notFound();
  return <PostView post={post} renderedAt={renderedAt} />;
}

async function PostPreview({ slug }: { slug: string }) {
  const preview = await readPostPreview(slug);
  if (!preview) notFound();
  return (
    <>
      <aside className="preview-banner" role="status" data-testid="preview-banner">
        <strong>Preview</strong>
        {preview.draft
          ? ` — the unpublished draft saved ${preview.draft.savedAt.replace("T", " ").slice(0, 16)} UTC. Only you see it.`
          : " — this post has no draft: you see the published version."}{" "}
        {/* A plain link, not <Link>: a prefetch of it would leave Draft Mode by itself. */}
        <a href={`/api/preview/exit?slug=${encodeURIComponent(slug)}`} data-testid="preview-exit">
          Exit preview
        </a>
      </aside>
      <PostView post={preview.post} renderedAt={new Date().toISOString()} prefetch={false} />
    </>
  );
}

/**
 * `prefetch={false}` in a preview: Next 16.4.6 re-runs cached functions on every Draft Mode request
 * and saves nothing, so a prefetch render there logs "Unexpected cache miss after cache warming".
 */
function PostView({ post, renderedAt, prefetch }: { post: Post; renderedAt: string; prefetch?: false }) {
  const slug = post.slug;
  return (
    <article className="post">
      <header>
        <h1 data-testid="post-title">{post.title}</h1>
        <p className="muted">
          Updated <time dateTime={post.updatedAt}>{post.updatedAt.replace("T", " ").slice(0, 16)} UTC</time>
          {/* Shown to everyone so this page stays fully cached (no cookie read); the edit page asks for sign-in. */}
          {" · "}
          <Link href={`/posts/${post.slug}/edit`} prefetch={prefetch} data-testid="edit-link">
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
