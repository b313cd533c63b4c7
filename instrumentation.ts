/**
 * Runs once when a server instance boots (Next's instrumentation hook): says what the configuration
 * means where it is easy to miss, once. A missing client-address trust configuration in production
 * (lib/client-ip.ts), and a previous webhook secret past its end date (lib/revalidation/token.ts).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { warnAboutClientIpTrust } = await import("./lib/client-ip");
  const { revalidationEnv } = await import("./lib/env");
  const { warnIfPreviousSecretExpired } = await import("./lib/revalidation/token");
  warnAboutClientIpTrust();
  // next.config.ts has already refused an invalid configuration, so this cannot throw at boot.
  warnIfPreviousSecretExpired(revalidationEnv(), new Date());
}
