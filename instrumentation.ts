/**
 * Runs once when a server starts, before it takes requests (Next awaits `register`), on the Node.js
 * runtime only:
 * - says what the configuration means where it is easy to miss, once: a missing client-address
 *   trust configuration in production (lib/client-ip.ts), and a previous webhook secret past its end
 *   date (lib/revalidation/token.ts);
 * - in `next start`, starts the shared tag state (lib/shared-tags) before the first request. `next
 *   dev` does not cache as production does, and the build never serves.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { warnAboutClientIpTrust } = await import("./lib/client-ip");
  const { revalidationEnv } = await import("./lib/env");
  const { warnIfPreviousSecretExpired } = await import("./lib/revalidation/token");
  warnAboutClientIpTrust();
  // next.config.ts has already refused an invalid configuration, so this cannot throw at boot.
  warnIfPreviousSecretExpired(revalidationEnv(), new Date());
  if (process.env.NODE_ENV !== "production") return;
  const { startSharedTags } = await import("./lib/shared-tags/runtime");
  await startSharedTags();
}
