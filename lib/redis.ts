/**
 * The one Upstash Redis client. Locally `npm run dev` points it at the project's Upstash-compatible
 * endpoint (scripts/upstash-local); on Vercel it uses the Upstash database connected to the project.
 */
import { Redis } from "@upstash/redis";
import { redisEnv } from "./env";

let client: Redis | undefined;

export function redis(): Redis {
  if (!client) {
    const { url, token } = redisEnv();
    // Values are stored as plain strings or JSON we parse ourselves with zod at the read site.
    client = new Redis({ url, token, automaticDeserialization: false, enableTelemetry: false });
  }
  return client;
}

/** Every key this app writes starts with one of these, so a shared database stays readable. */
export const keys = {
  post: (slug: string) => `blog:post:${slug}`,
  postIndex: () => "blog:posts",
  comments: (slug: string) => `blog:comments:${slug}`,
  seeded: () => "blog:seeded:v1",
} as const;
