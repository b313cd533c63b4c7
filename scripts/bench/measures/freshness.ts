/**
 * Webhook → fresh: the post is changed in Redis directly (as a CMS would), the revalidation is
 * POSTed, and from its 200 the post's page is fetched every 25 ms until it shows the new text.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Post } from "../../../lib/posts";
import { keys } from "../../../lib/redis";
import { BENCH_SLUG, type BenchContext, receiverHeaders } from "../lib/context";

export type FreshnessResult = {
  trials: number;
  /** Milliseconds from the receiver's 200 to the first GET that showed the change. */
  timesMs: number[];
  /** GETs per trial until fresh (the first one serves the stale page under 'max'). */
  polls: number[];
  /** Trials that were not fresh within the deadline. */
  failures: number;
};

export const POLL_INTERVAL_MS = 25;
const DEADLINE_MS = 10_000;

export async function measureFreshness(context: BenchContext, trials: number): Promise<FreshnessResult> {
  const raw = await context.redis.get<string>(keys.post(BENCH_SLUG));
  if (typeof raw !== "string") throw new Error(`post ${BENCH_SLUG} is not in Redis`);
  const original = JSON.parse(raw) as Post;
  const pageUrl = `${context.productUrl}/posts/${BENCH_SLUG}`;
  const timesMs: number[] = [];
  const polls: number[] = [];
  let failures = 0;

  try {
    for (let i = 0; i < trials; i++) {
      const marker = `bench-fresh-${context.runId}-${i}`;
      const changed: Post = {
        ...original,
        body: `${original.body}\n\nRevision ${marker}.`,
        updatedAt: new Date().toISOString(),
      };
      await context.redis.set(keys.post(BENCH_SLUG), JSON.stringify(changed));
      const response = await fetch(`${context.productUrl}/api/revalidate`, {
        method: "POST",
        headers: receiverHeaders(context),
        body: JSON.stringify({ id: marker, tags: [`post:${BENCH_SLUG}`] }),
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`the receiver answered ${response.status}`);
      const answeredAt = performance.now();
      let count = 0;
      let freshAt: number | undefined;
      while (performance.now() - answeredAt < DEADLINE_MS) {
        count += 1;
        const html = await (await fetch(pageUrl)).text();
        if (html.includes(marker)) {
          freshAt = performance.now();
          break;
        }
        await sleep(POLL_INTERVAL_MS);
      }
      polls.push(count);
      if (freshAt === undefined) failures += 1;
      else timesMs.push(freshAt - answeredAt);
    }
  } finally {
    // Put the post back as it was, and let the page follow.
    await context.redis.set(keys.post(BENCH_SLUG), JSON.stringify(original));
    await fetch(`${context.productUrl}/api/revalidate`, {
      method: "POST",
      headers: receiverHeaders(context),
      body: JSON.stringify({ id: `bench-restore-${context.runId}`, tags: [`post:${BENCH_SLUG}`] }),
    }).then((response) => response.arrayBuffer());
  }
  return { trials, timesMs, polls, failures };
}
