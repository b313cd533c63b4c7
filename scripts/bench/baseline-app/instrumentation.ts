/**
 * Empty on purpose. Without a file of its own, `next build scripts/bench/baseline-app` (Next 16.4.6,
 * Turbopack) bundles the repository root's instrumentation.ts, and the baseline then started the
 * product's shared tag state: it subscribed to the benchmark's Redis and ran a sync for every
 * webhook the receiver published, taking CPU from the receiver's runs on the same cores.
 */
export function register(): void {}
