/**
 * A Redis outage, for real: a second local Upstash endpoint over the run's redis-server that a test
 * stops and starts again on the same port and token, so clients configured with it fail, then work.
 */
import { inject } from "vitest";
import { type LocalUpstash, startLocalUpstash } from "../../scripts/upstash-local/server";

export type OutageEndpoint = {
  url: string;
  token: string;
  /** Stops answering (connection refused), as an unreachable Redis does. */
  stop(): Promise<void>;
  /** Answers again, at the same address with the same token. */
  start(): Promise<void>;
  /** For the test's cleanup. */
  close(): Promise<void>;
};

export async function outageEndpoint(): Promise<OutageEndpoint> {
  const redisUrl = inject("redisUrl");
  let current: LocalUpstash | undefined = await startLocalUpstash({ redisUrl, port: 0, log: () => {} });
  const { url, token } = current;
  const port = Number(new URL(url).port);
  const stop = async () => {
    await current?.close();
    current = undefined;
  };
  return {
    url,
    token,
    stop,
    async start() {
      current ??= await startLocalUpstash({ redisUrl, port, token, log: () => {} });
    },
    close: stop,
  };
}
