/**
 * The receiver's production wiring: Next's `revalidateTag` and `after` (handed in by the route,
 * since they exist only inside a Next request) plus the project's Redis client, limits,
 * environment and shared tag state. Tests build their own `ReceiverDeps` instead
 * (tests/revalidation/harness.ts).
 */
import { clientAddress } from "../client-ip";
import { type RateLimitSetting, rateLimitEnv, revalidationEnv } from "../env";
import { createLimiter, windowMs } from "../rate-limit";
import { failFastRedis } from "../redis";
import { sharedTagState } from "../shared-tags/runtime";
import { vocabulary } from "../tags";
import { DEFAULT_LEASE_MS } from "./dedupe";
import type { Limiters, SenderLimit } from "./limits";
import { consoleLogger } from "./log";
import { REDIS_BUDGET_MS, type ReceiverDeps } from "./receiver";

function senderLimit(setting: RateLimitSetting): SenderLimit {
  return { requests: setting.requests, windowMs: windowMs(setting) };
}

export function productionDeps(next: Pick<ReceiverDeps, "revalidateTag" | "after">): ReceiverDeps {
  let limiters: Limiters | undefined;
  return {
    ...next,
    config: () => revalidationEnv(),
    redis: failFastRedis,
    // Undefined where the layer does not run (Vercel, SHARED_TAG_STATE=off, `next dev`).
    sharedTags: sharedTagState,
    limiters: () => {
      limiters ??= {
        revalidate: senderLimit(rateLimitEnv().revalidate),
        authFailures: createLimiter("auth-failures", { redis: failFastRedis(), timeoutMs: REDIS_BUDGET_MS }),
      };
      return limiters;
    },
    log: consoleLogger,
    clientAddress: (headers) => clientAddress(headers),
    vocabulary,
    now: () => new Date(),
    requestId: () => crypto.randomUUID(),
    leaseMs: DEFAULT_LEASE_MS,
    redisBudgetMs: REDIS_BUDGET_MS,
  };
}
