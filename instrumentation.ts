/**
 * Runs once when a server instance boots (Next's instrumentation hook): says what the client-address
 * trust configuration means for rate limits when it is missing in production (lib/client-ip.ts).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { warnAboutClientIpTrust } = await import("./lib/client-ip");
  warnAboutClientIpTrust();
}
