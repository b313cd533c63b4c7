/**
 * A time budget for the Redis calls a request waits on. When Redis is unreachable the receiver
 * fails open (rate limits and de-duplication are skipped, the tags are still revalidated), and
 * that must happen within about a second in total, not per call: a webhook sender times out.
 */

import { describeError } from "../redis";

export class RedisUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisUnavailable";
  }
}

export type RedisBudget = {
  /** Runs one round trip, rejecting with `RedisUnavailable` when it fails or outlives the budget. */
  roundTrip<T>(label: string, call: () => Promise<T>): Promise<T>;
  /** Round trips started so far (the log reports it: one in the common case). */
  readonly roundTrips: number;
  /** What went wrong, one short line per failed round trip, for the log. */
  readonly failures: readonly string[];
};

export function createRedisBudget(
  totalMs: number,
  clock: () => number = performance.now.bind(performance),
): RedisBudget {
  const deadline = clock() + totalMs;
  let roundTrips = 0;
  const failures: string[] = [];

  return {
    get roundTrips() {
      return roundTrips;
    },
    get failures() {
      return failures;
    },
    async roundTrip<T>(label: string, call: () => Promise<T>): Promise<T> {
      const remaining = deadline - clock();
      if (remaining <= 0) {
        failures.push(`${label}: skipped, Redis time budget of ${totalMs} ms used up`);
        throw new RedisUnavailable(`${label}: no time left`);
      }
      roundTrips += 1;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const pending = call();
      // The call keeps running after a timeout (its own abort signal ends it); its failure is expected then.
      pending.catch(() => undefined);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RedisUnavailable(`${label}: no answer within ${Math.round(remaining)} ms`)),
          remaining,
        );
      });
      try {
        return await Promise.race([pending, timeout]);
      } catch (error) {
        const reason =
          error instanceof RedisUnavailable ? error.message : `${label}: ${describeError(error)}`;
        failures.push(reason);
        throw error instanceof RedisUnavailable ? error : new RedisUnavailable(reason, { cause: error });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
