/**
 * Where a running local endpoint leaves its address and token (`.data/upstash-local.json`, git-ignored,
 * readable by this user only), so `npm run dev` in another terminal can find and reuse it without a
 * well-known token. Written by `npm run redis:local` and by scripts/with-local-redis.ts when they start
 * a persistent endpoint; removed when that endpoint stops.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { z } from "zod";

const endpointFileSchema = z.object({ url: z.url(), token: z.string().min(16), pid: z.number().int() });
export type EndpointFile = z.infer<typeof endpointFileSchema>;

export function endpointFilePath(root: string): string {
  return join(root, ".data", "upstash-local.json");
}

export function writeEndpointFile(root: string, endpoint: { url: string; token: string }): void {
  const path = endpointFilePath(root);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ url: endpoint.url, token: endpoint.token, pid: process.pid })}\n`, {
    mode: 0o600,
  });
  chmodSync(path, 0o600); // an older file keeps its mode on overwrite
}

export function readEndpointFile(root: string): EndpointFile | undefined {
  try {
    const parsed = endpointFileSchema.safeParse(JSON.parse(readFileSync(endpointFilePath(root), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the file if it still describes `token`'s endpoint (another one may have replaced it). */
export function removeEndpointFile(root: string, token: string): void {
  if (readEndpointFile(root)?.token === token) rmSync(endpointFilePath(root), { force: true });
}
