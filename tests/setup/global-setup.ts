/**
 * Starts ONE redis-server and ONE local Upstash endpoint in front of it for the whole Vitest run, and hands
 * their addresses to every worker through `provide`/`inject` (tests/setup/env.ts puts them into process.env).
 * Test files run in parallel against this one Redis, so tests use unique keys and never flush.
 */
import type { TestProject } from "vitest/node";
import { findRedisServer, startRedisServer } from "../../scripts/upstash-local/engine";
import { startLocalUpstash } from "../../scripts/upstash-local/server";

declare module "vitest" {
  export interface ProvidedContext {
    upstashUrl: string;
    upstashToken: string;
    /** The redis-server behind the endpoint, for tests that start a second endpoint over the same data. */
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!findRedisServer()) {
    throw new Error(
      "The tests need a real Redis and redis-server was not found. Install it with: sudo apt-get install -y redis-server",
    );
  }
  // Started here rather than by the endpoint so its URL can be shared with tests that want a second endpoint.
  const redis = await startRedisServer(undefined, (line) => console.error(line));
  const redisUrl = redis.redisUrl;
  if (!redisUrl) throw new Error("redis-server started without a URL");
  const endpoint = await startLocalUpstash({ redisUrl, log: () => {} }).catch(async (error: unknown) => {
    await redis.close();
    throw error;
  });

  project.provide("upstashUrl", endpoint.url);
  project.provide("upstashToken", endpoint.token);
  project.provide("redisUrl", redisUrl);
  return async () => {
    await endpoint.close();
    await redis.close();
  };
}
