/**
 * The revalidation webhook. All logic is in lib/revalidation/receiver.ts; this file only hands in
 * Next's `revalidateTag` and `after`, which exist only inside a Next request.
 */
import { revalidateTag } from "next/cache";
import { after, connection } from "next/server";
import { productionDeps } from "@/lib/revalidation/production";
import { handleRevalidation } from "@/lib/revalidation/receiver";

const deps = productionDeps({ revalidateTag, after });

export async function POST(request: Request): Promise<Response> {
  return handleRevalidation(request, deps);
}

// Every other method gets the receiver's 405 (with `Allow: POST`). GET would otherwise be
// prerendered at build time under cacheComponents: `connection()` makes it run per request.
export async function GET(request: Request): Promise<Response> {
  await connection();
  return handleRevalidation(request, deps);
}

export const PUT = POST;
export const PATCH = POST;
export const DELETE = POST;
export const OPTIONS = POST;
