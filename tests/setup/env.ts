/**
 * Runs in every test worker before the test files: points `Redis.fromEnv()`, `lib/env.ts` and `lib/redis.ts`
 * at the endpoint tests/setup/global-setup.ts started. Set in process.env (not only inject) because the code
 * under test reads its configuration from the environment, as it does in production. The redis-server URL
 * stays in `inject("redisUrl")` only, so nothing picks it up by accident.
 */
import { inject } from "vitest";

process.env.UPSTASH_REDIS_REST_URL = inject("upstashUrl");
process.env.UPSTASH_REDIS_REST_TOKEN = inject("upstashToken");
