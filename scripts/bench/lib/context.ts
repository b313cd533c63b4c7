/** What every measure gets: the servers under test, the local endpoint and the run's settings. */
import type { Redis } from "@upstash/redis";
import type { LocalUpstash } from "../../upstash-local/server";

export type BenchContext = {
  quick: boolean;
  progress: (line: string) => void;
  /** The product, `next start`. */
  productUrl: string;
  /** The baseline fixture (scripts/bench/baseline-app), `next start`. */
  baselineUrl: string;
  /** Process ids, to attribute CPU: the two servers and the endpoint's redis-server. */
  pids: { product: number; baseline: number; redis: number | undefined };
  endpoint: LocalUpstash;
  /** The benchmark's own client on the same database, to change content as a CMS would. */
  redis: Redis;
  /** One long-lived revalidation token with `iss`, minted before any measure. */
  token: string;
  /** The baseline's static shared secret. */
  baselineSecret: string;
  /** Unique per run, so IDs and comments of one run never collide with another's. */
  runId: string;
};

/** Headers of a product receiver request. */
export function receiverHeaders(context: BenchContext): Record<string, string> {
  return { authorization: `Bearer ${context.token}`, "content-type": "application/json" };
}

/** Headers of a baseline request. */
export function baselineHeaders(context: BenchContext): Record<string, string> {
  return { authorization: `Bearer ${context.baselineSecret}`, "content-type": "application/json" };
}

/** The post whose page the receiver measures revalidate. */
export const BENCH_SLUG = "hello-world";
/** The post the Server Action measure comments on. */
export const COMMENT_SLUG = "read-your-writes";
