/**
 * The post's Open Graph image (a 1200×630 card with its title) and its alt text. Both read the
 * post through the cached, tagged `getPost`, so the webhook that refreshes the post refreshes them.
 */
import { ImageResponse } from "next/og";
import { getPost } from "@/lib/posts";

const size = { width: 1200, height: 630 };
const contentType = "image/png";

type Params = { slug: string };

/** One image per post, whose alt text is the post's current title. */
export async function generateImageMetadata({ params }: { params: Promise<Params> | Params }) {
  const { slug } = await params;
  const { data: post } = await getPost(slug);
  return [{ id: "card", alt: post ? `${post.title}: Fresh Pages` : "Post not found", size, contentType }];
}

export default async function Image({ params }: { params: Promise<Params> }) {
  const { slug } = await params;
  const { data: post } = await getPost(slug);
  const title = post?.title ?? "Post not found";
  return new ImageResponse(
    <div
      style={{
        width: "100%",
        height: "100%",
        display: "flex",
        flexDirection: "column",
        justifyContent: "space-between",
        padding: 72,
        background: "#fbfbfa",
        color: "#1c1c1e",
        borderTop: "16px solid #0b57d0",
      }}
    >
      <div style={{ fontSize: 72, fontWeight: 700, lineHeight: 1.15, display: "flex" }}>{title}</div>
      <div style={{ fontSize: 32, color: "#5f6368", display: "flex" }}>Fresh Pages</div>
    </div>,
    size,
  );
}
