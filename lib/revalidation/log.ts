/**
 * One structured JSON line per request. It is built from checked values only: the token and the
 * body never reach it (a tag or ID is logged only once it passed validation), because log
 * pipelines are read by more people than the secret is shared with.
 */

export type Outcome = "revalidated" | "duplicate" | "dry-run" | "rejected" | "failed";

export type ReceiverLogLine = {
  msg: "revalidate";
  level: "info" | "warn" | "error";
  requestId: string;
  revalidationId: string | null;
  idSource: string | null;
  iss: string | null;
  tags: string[];
  outcome: Outcome;
  status: number;
  code: string | null;
  latencyMs: number;
  /** Redis round trips the response waited for (one in the common case: limit, claim and publish). */
  redisRoundTrips: number;
  /** Whether de-duplication applied; false when there was no ID or Redis failed open. */
  deduplicated: boolean;
  /** Anything that did not go as designed: Redis failing open, a skipped limit, work after the response. */
  notes: string[];
};

export type Logger = (line: ReceiverLogLine) => void;

/**
 * Writes the line to stdout (stderr for 5xx), where Vercel and `next start` collect it. Straight to
 * the stream: the line is already text, and `console` in `next start` is Next's patched one (a
 * wrapper per call that looks for a React render to dim logs in), measurable at webhook rates.
 */
export const consoleLogger: Logger = (line) => {
  const text = `${JSON.stringify(line)}\n`;
  if (line.level === "error") process.stderr.write(text);
  else process.stdout.write(text);
};
