import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { connection } from "next/server";
import { POST_LIMITS, readDraft, readPost } from "@/lib/posts";
import { mintPreviewToken, PreviewLinkError, previewKey } from "@/lib/preview";
import { hasAdminSession } from "@/lib/session";
import { EditPostForm } from "./edit-post-form";

export const metadata: Metadata = { title: "Edit post", robots: { index: false } };

type Props = { params: Promise<{ slug: string }> };

// Per request, in one response, so editing works with JavaScript off. (Measured on Next 16.4.6, the
// build still gives this route a static shell, `x-nextjs-postponed: 1`, with the per-request part
// resumed in the same response: enough for the form without JavaScript, not for a redirect() from
// that part; see EditPost.)
export const instant = false;

export default function EditPostPage({ params }: Props) {
  return (
    <>
      <h1>Edit post</h1>
      <EditPost params={params} />
    </>
  );
}

async function EditPost({ params }: Props) {
  // Per request, never prerendered: the session check reads the clock (token expiry) and may read Redis.
  await connection();
  const { slug } = await params;
  if (!(await hasAdminSession())) {
    // Signing in (and saying when editing is switched off) is the admin page's job; it comes back
    // here afterwards. A link, not redirect(): measured on Next 16.4.6, a redirect() here reaches a
    // browser without JavaScript as a blank page (the build serves this route with a static shell,
    // ◐), and editing must work without JavaScript.
    return (
      <section className="card" aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in to edit this post</h2>
        <p>
          Editing is for the site&apos;s admin.{" "}
          <Link href={`/admin?next=${encodeURIComponent(`/posts/${slug}/edit`)}`} data-testid="sign-in-link">
            Sign in
          </Link>{" "}
          and you come back here.
        </p>
      </section>
    );
  }
  // The stored post (and its draft), not the cached page: an editor must start from the latest text.
  const [post, draft] = await Promise.all([readPost(slug), readDraft(slug)]);
  if (!post) notFound();
  return (
    <section className="card">
      <p className="muted">
        Editing <Link href={`/posts/${post.slug}`}>{post.title}</Link>. Publish updates the post page and the
        list at once; Save draft keeps the text unpublished, visible only through a preview link.
      </p>
      {draft ? (
        <p className="draft-note" data-testid="draft-note">
          An unpublished draft, saved {draft.savedAt.replace("T", " ").slice(0, 16)} UTC, is in the form
          below. <DraftPreviewLink slug={post.slug} />
        </p>
      ) : null}
      <EditPostForm
        post={draft ? { slug: post.slug, title: draft.title, body: draft.body } : post}
        limits={POST_LIMITS}
      />
    </section>
  );
}

/** A one-hour preview link for the editor (same site, so a relative URL). */
async function DraftPreviewLink({ slug }: { slug: string }) {
  try {
    const token = await mintPreviewToken({ key: previewKey(), slug });
    // A plain link: opening it sets the Draft Mode cookie, which a prefetch must not do.
    return (
      <a href={`/api/preview?token=${encodeURIComponent(token)}`} data-testid="preview-draft">
        Preview the draft
      </a>
    );
  } catch (error) {
    if (!(error instanceof PreviewLinkError)) throw error;
    return <span className="muted">{error.message}</span>;
  }
}
