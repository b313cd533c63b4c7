/**
 * `GET /api/revalidate/<id>` (the ID URL-encoded): the state of one revalidation for the sender
 * whose token asks. All logic is in lib/revalidation/status.ts.
 */
import { connection } from "next/server";
import { revalidationEnv } from "@/lib/env";
import { failFastRedis } from "@/lib/redis";
import { handleRevalidationStatus } from "@/lib/revalidation/status";
import { vocabulary } from "@/lib/tags";

export async function GET(
  request: Request,
  { params }: { params: Promise<{ id: string }> },
): Promise<Response> {
  await connection();
  const { id } = await params;
  return handleRevalidationStatus(request, id, {
    config: () => revalidationEnv(),
    redis: failFastRedis,
    now: () => new Date(),
    requestId: () => crypto.randomUUID(),
    log: (line) => console.error(JSON.stringify(line)),
    vocabulary,
  });
}
