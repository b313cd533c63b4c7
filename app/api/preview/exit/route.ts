/**
 * `GET /api/preview/exit?slug=…`: leaves Draft Mode and goes back to the post (or the home page):
 * the published version from the cache, as every visitor sees it.
 */
import { draftMode } from "next/headers";
import { connection } from "next/server";
import { isValidKey } from "@/lib/tags";

export async function GET(request: Request): Promise<Response> {
  await connection();
  (await draftMode()).disable();
  const slug = new URL(request.url).searchParams.get("slug") ?? "";
  return new Response(null, {
    status: 307,
    headers: { Location: isValidKey(slug) ? `/posts/${slug}` : "/", "Cache-Control": "no-store" },
  });
}
