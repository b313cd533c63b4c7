/**
 * The baseline: the revalidation route most templates ship. A static shared secret compared as a
 * string, the tags from the body, `revalidateTag` for each. No token expiry, no replay or duplicate
 * protection, no rate limit, no validation, no log. `npm run bench` compares the product's receiver
 * against this.
 */
import { revalidateTag } from "next/cache";

export async function POST(request: Request): Promise<Response> {
  const secret = process.env.REVALIDATION_SECRET;
  if (!secret || request.headers.get("authorization") !== `Bearer ${secret}`) {
    return Response.json({ message: "Invalid token" }, { status: 401 });
  }
  const body: unknown = await request.json();
  const tags =
    typeof body === "object" && body !== null && "tags" in body && Array.isArray(body.tags) ? body.tags : [];
  for (const tag of tags) {
    if (typeof tag === "string") revalidateTag(tag, "max");
  }
  return Response.json({ revalidated: true, now: Date.now() });
}
