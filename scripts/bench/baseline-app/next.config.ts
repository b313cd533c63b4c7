import type { NextConfig } from "next";

/**
 * The baseline fixture for `npm run bench` (scripts/bench): what most templates ship, built with the
 * same Next.js as the product and the same caching mode, so the comparison isolates the receiver.
 */
const nextConfig: NextConfig = {
  cacheComponents: true,
  partialPrefetching: true,
  poweredByHeader: false,
};

export default nextConfig;
