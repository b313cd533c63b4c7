/**
 * Runs once when a server starts, before it takes requests (Next awaits `register`). It starts the
 * shared tag state (lib/shared-tags) in `next start` on the Node.js runtime; `next dev` does not
 * cache as production does, and the build never serves.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs" || process.env.NODE_ENV !== "production") return;
  const { startSharedTags } = await import("./lib/shared-tags/runtime");
  await startSharedTags();
}
