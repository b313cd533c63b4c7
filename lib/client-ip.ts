/**
 * The client's IP address, taken the way the platform defines it, for per-client rate limits.
 *
 * - `CLIENT_IP_HEADER` set: that header, verbatim (first entry if it is a list). Use it behind a
 *   proxy or CDN that overwrites a header of its own (e.g. `cf-connecting-ip`, `x-real-ip`).
 * - On Vercel (`VERCEL=1`): `x-forwarded-for`, which Vercel's edge overwrites with the client IP
 *   (a client-sent value never reaches the function).
 * - `next start` elsewhere: `x-forwarded-for` as Next's server fills it from the socket. If your
 *   server is reachable without a proxy that overwrites it, clients can choose it: set CLIENT_IP_HEADER.
 *
 * Returns `undefined` when the header is missing. Callers then skip the per-IP limit rather than
 * lump every unknown client into one shared bucket that a single abuser could fill for everyone.
 */
import { rateLimitEnv } from "./env";

const MAX_IP_LENGTH = 64;

export function clientIp(
  headers: Headers,
  configuredHeader: string | undefined = rateLimitEnv().clientIpHeader,
): string | undefined {
  const raw = headers.get(configuredHeader ?? "x-forwarded-for");
  const first = raw?.split(",")[0]?.trim();
  if (!first || first.length > MAX_IP_LENGTH || !/^[0-9A-Fa-f:.]+$/.test(first)) return undefined;
  return first;
}
