/**
 * `npm run revalidate -- --tag posts --tag post:hello-world --id post-42-rev-7 [--url ...] [--dry-run]`
 *
 * Sends one revalidation the way a backend should: a short-lived token minted for this request
 * (`jti` = the revalidation ID), and retries with the same ID, so a retry after a lost answer is
 * answered "duplicate" instead of revalidating twice.
 */
import { mintRevalidationToken } from "../lib/revalidation/mint";
import { TAG_SHAPES } from "../lib/tags";
import { recordedDevServer } from "./dev-secrets";
import {
  exitWithProblem,
  loadRevalidationConfig,
  parseCommandLine,
  UsageError,
} from "./lib-cli/revalidation-env";

const HELP = `Revalidate cache tags on a running site through POST /api/revalidate.

Usage: npm run revalidate -- --tag <tag> [--tag <tag>]... [--id <id>] [--url <base url>] [--dry-run] [--iss <sender>]
       npm run revalidate -- --status <id> [--url <base url>] [--iss <sender>]

  --tag <tag>        a tag to revalidate, repeatable: ${TAG_SHAPES.join(", ")}
  --id <id>          the revalidation ID (default: a new random one); reuse it to retry safely
  --url <base url>   the site (default: the running \`npm run dev\`, with its development secrets)
  --dry-run          check everything, revalidate nothing
  --iss <sender>     the sender's name in the token (default: cli)
  --status <id>      print what happened to revalidation <id> (GET /api/revalidate/<id>) instead
  --attempts <n>     attempts in all, retrying 409, 429, 5xx and network errors (default: 5)
  -h, --help         show this help

Reads REVALIDATION_SECRET from the environment or .env.local (and, without --url, .env.development.local). Prints the HTTP status and the JSON answer;
exits 0 on 2xx, 1 otherwise.`;

const TOKEN_LIFETIME_SECONDS = 5 * 60;
const REQUEST_TIMEOUT_MS = 15_000;
const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

const OPTIONS = {
  tag: { type: "string", multiple: true },
  id: { type: "string" },
  url: { type: "string" },
  "dry-run": { type: "boolean" },
  iss: { type: "string" },
  status: { type: "string" },
  attempts: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(): Promise<void> {
  const values = parseCommandLine(OPTIONS, HELP);
  if (!values) return;
  if (!values.tag?.length && !values.status) {
    throw new UsageError(`At least one --tag (or --status <id>) is required.\n\n${HELP}`);
  }
  const attempts = Number(values.attempts ?? "5");
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 20) {
    throw new UsageError("--attempts must be a whole number from 1 to 20.");
  }
  // No --url: the local `npm run dev` server (it records where it listens), with its secrets.
  const devServer = values.url ? undefined : (recordedDevServer(process.cwd()) ?? "http://localhost:3000");
  let endpoint: URL;
  try {
    endpoint = new URL("/api/revalidate", values.url ?? devServer);
  } catch {
    throw new UsageError(`--url must be an absolute URL such as http://localhost:3000.`);
  }
  const config = loadRevalidationConfig({ dev: devServer !== undefined });
  if (values.status) return printStatus(endpoint, values.status, config, values.iss ?? "cli");

  const id = values.id ?? `cli-${crypto.randomUUID()}`;
  const body = JSON.stringify({ id, tags: values.tag, ...(values["dry-run"] ? { dryRun: true } : {}) });

  for (let attempt = 1; ; attempt++) {
    // Minted per attempt, so a long backoff never sends an expired token.
    const token = await mintRevalidationToken({
      secret: config.secret,
      audience: config.audience,
      issuer: values.iss ?? "cli",
      jti: id,
      expiresInSeconds: TOKEN_LIFETIME_SECONDS,
    });
    let status: number | undefined;
    let retryAfterMs: number | undefined;
    let outcome: string;
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = response.status;
      retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      outcome = await describeBody(response);
    } catch (error) {
      outcome = `network error: ${error instanceof Error ? error.message : String(error)}`;
    }

    const retryable = status === undefined || status === 409 || status === 429 || status >= 500;
    if ((status !== undefined && status < 300) || !retryable || attempt >= attempts) {
      console.log(status === undefined ? outcome : `HTTP ${status}\n${outcome}`);
      process.exitCode = status !== undefined && status < 300 ? 0 : 1;
      return;
    }
    const delay = Math.min(MAX_DELAY_MS, Math.max(retryAfterMs ?? 0, backoff(attempt)));
    console.error(
      `attempt ${attempt}/${attempts}: ${status === undefined ? outcome : `HTTP ${status}`}; retrying in ${(delay / 1000).toFixed(1)} s with the same ID (${id})`,
    );
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Exponential backoff with full jitter, so many senders retrying at once spread out. */
function backoff(attempt: number): number {
  return Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
}

/** `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3). */
function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

async function describeBody(response: Response): Promise<string> {
  const text = await response.text();
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text.slice(0, 2000);
  }
}

/** `--status <id>`: the sender's view of one revalidation (same iss, same namespace as its sends). */
async function printStatus(
  endpoint: URL,
  id: string,
  config: { secret: string; audience: string },
  iss: string,
): Promise<void> {
  const token = await mintRevalidationToken({
    secret: config.secret,
    audience: config.audience,
    issuer: iss,
    expiresInSeconds: TOKEN_LIFETIME_SECONDS,
  });
  const url = new URL(`${endpoint.pathname}/${encodeURIComponent(id)}`, endpoint);
  const response = await fetch(url, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  console.log(`${response.status} ${JSON.stringify(await response.json(), null, 2)}`);
  if (!response.ok) process.exitCode = 1;
}

main().catch(exitWithProblem);
