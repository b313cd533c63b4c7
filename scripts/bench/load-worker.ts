/**
 * The load generator, in a child process of its own (forked by lib/load.ts): autocannon then gets
 * its own event loop instead of sharing one with the local Upstash endpoint that the benchmark
 * process hosts, so the endpoint's latency is not inflated by the load generator's work.
 */
import autocannon from "autocannon";
import type { LoadSpec, LoadSummary } from "./lib/load";

const COUNTER = "{{n}}";

async function run(spec: LoadSpec): Promise<LoadSummary> {
  let n = 0;
  const body = spec.body;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSeconds,
    timeout: 10,
    requests: [
      {
        method: spec.method,
        path: spec.path,
        headers: spec.headers,
        // A fresh body per request, so that each one can carry its own revalidation ID.
        ...(body === undefined
          ? {}
          : {
              setupRequest: (request) => ({ ...request, body: body.replaceAll(COUNTER, String(n++)) }),
            }),
      },
    ],
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
  return {
    requestsPerSecond: result.requests.average,
    latency: {
      average: result.latency.average,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    durationSeconds: result.duration,
  };
}

process.once("message", (message: LoadSpec) => {
  run(message).then(
    (summary) => process.send?.({ ok: true, summary }, () => process.exit(0)),
    (error: unknown) =>
      process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) }, () =>
        process.exit(1),
      ),
  );
});
