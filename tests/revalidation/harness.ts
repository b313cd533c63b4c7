/**
 * Calls the receiver the way the route does, with real dependencies: the Redis behind the local
 * Upstash endpoint (tests/setup), real limiters, real env parsing. The one thing replaced is
 * `revalidateTag`, which only works inside a running Next server: a recording function stands in,
 * so tests can count exactly which tags were revalidated, and how many times.
 */

import { clientAddress } from "../../lib/client-ip";
import type { RateLimitSetting } from "../../lib/env";
import { redisEnv } from "../../lib/env";
import { createLimiter, windowMs } from "../../lib/rate-limit";
import { createFailFastRedis, FAIL_FAST_TIMEOUT_MS } from "../../lib/redis";
import { DEFAULT_LEASE_MS } from "../../lib/revalidation/dedupe";
import type { ReceiverLogLine } from "../../lib/revalidation/log";
import { type MintOptions, mintRevalidationToken } from "../../lib/revalidation/mint";
import { handleRevalidation, REDIS_BUDGET_MS, type ReceiverDeps } from "../../lib/revalidation/receiver";
import { CALL_TIMEOUT_MS, MARGIN_MS } from "../../lib/shared-tags/runtime";
import { createTagStore } from "../../lib/shared-tags/store";
import { SharedTagState, type TagsManifest } from "../../lib/shared-tags/sync";
import { testVocabulary } from "../setup/tag-vocabulary";

export const SECRET = "test-current-secret-0123456789-abcdefghijklmnop";
export const PREVIOUS_SECRET = "test-previous-secret-0123456789-abcdefghijklmn";
export const AUDIENCE = "revalidate";

/**
 * Most tests check logic, not timing, and run in parallel against one local endpoint on a small
 * machine: a deadline this long keeps a slow moment from failing open and flaking them. The tests
 * of failing open within a second use `productionDeadlines`.
 */
const TEST_DEADLINE_MS = 5000;

export const unique = (prefix: string): string => `${prefix}-${crypto.randomUUID()}`;

/** A random address in a documentation-only IPv6 range, so parallel tests never share a limit bucket. */
export function uniqueIp(): string {
  const hex = () => Math.floor(Math.random() * 0xffff).toString(16);
  return `2001:db8:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`;
}

export type Harness = ReturnType<typeof createHarness>;

export function createHarness(
  options: {
    revalidateLimit?: RateLimitSetting;
    authFailureLimit?: RateLimitSetting;
    redisUrl?: string;
    redisToken?: string;
    /** Per-HTTP-request abort of the fail-fast client (production: FAIL_FAST_TIMEOUT_MS). */
    redisTimeoutMs?: number;
    /** Use the production Redis deadlines; tests of failing open in time need them. */
    productionDeadlines?: boolean;
    deps?: Partial<ReceiverDeps>;
  } = {},
) {
  const env = redisEnv(process.env);
  const budgetMs = options.productionDeadlines ? REDIS_BUDGET_MS : TEST_DEADLINE_MS;
  const redis = createFailFastRedis(
    { url: options.redisUrl ?? env.url, token: options.redisToken ?? env.token },
    options.redisTimeoutMs ?? (options.productionDeadlines ? FAIL_FAST_TIMEOUT_MS : TEST_DEADLINE_MS),
  );
  const revalidateLimit = options.revalidateLimit ?? { requests: 100_000, window: "1 m" };
  const limiters = {
    revalidate: { requests: revalidateLimit.requests, windowMs: windowMs(revalidateLimit) },
    authFailures: createLimiter("auth-failures", {
      redis,
      setting: options.authFailureLimit ?? { requests: 100_000, window: "1 m" },
      timeoutMs: budgetMs,
    }),
  };
  const revalidated: { tag: string; profile: string }[] = [];
  const lines: ReceiverLogLine[] = [];
  const pending: Promise<unknown>[] = [];
  const ip = uniqueIp();
  const iss = unique("iss").slice(0, 40);

  // The shared tag state as `next start` runs it, on the same Redis, with a plain Map standing in
  // for Next's in-process manifest (tests/shared-tags cover the real one).
  const manifest: TagsManifest = new Map();
  const shared = new SharedTagState({
    store: createTagStore(redis),
    manifest,
    intervalMs: 1000,
    callTimeoutMs: options.productionDeadlines ? CALL_TIMEOUT_MS : TEST_DEADLINE_MS,
    marginMs: MARGIN_MS,
    buildStartedAt: undefined,
    skewMs: 0,
    now: Date.now,
    log: () => {},
  });

  const deps: ReceiverDeps = {
    sharedTags: () => shared,
    config: () => ({ secrets: [SECRET, PREVIOUS_SECRET], audience: AUDIENCE, idTtlSeconds: 3600 }),
    redis: () => redis,
    limiters: () => limiters,
    revalidateTag: (tag, profile) => {
      revalidated.push({ tag, profile });
    },
    // Like Next's `after`: the task starts once the response exists; `settle()` waits for all of them.
    after: (task) => {
      pending.push(Promise.resolve().then(task));
    },
    log: (line) => lines.push(line),
    // As behind one proxy that appends the client's address: each harness gets its own bucket.
    clientAddress: (headers) => clientAddress(headers, { mode: "proxies", count: 1 }),
    // A fixed vocabulary of the tests' own: they keep passing when the app's entities change.
    vocabulary: testVocabulary,
    now: () => new Date(),
    requestId: () => crypto.randomUUID(),
    leaseMs: DEFAULT_LEASE_MS,
    redisBudgetMs: budgetMs,
    ...options.deps,
  };

  async function token(claims: Partial<MintOptions> = {}): Promise<string> {
    return mintRevalidationToken({
      secret: SECRET,
      expiresInSeconds: 300,
      issuer: iss,
      vocabulary: testVocabulary,
      ...claims,
    });
  }

  /** A request as a sender makes it; `token: null` sends no Authorization header. */
  async function request(init: {
    body?: unknown;
    rawBody?: BodyInit;
    token?: string | null;
    headers?: Record<string, string>;
    method?: string;
    ip?: string | null;
  }): Promise<Request> {
    const headers = new Headers({ "content-type": "application/json" });
    const bearer = init.token === undefined ? await token() : init.token;
    if (bearer !== null) headers.set("authorization", `Bearer ${bearer}`);
    const address = init.ip === undefined ? ip : init.ip;
    if (address !== null) headers.set("x-forwarded-for", address);
    for (const [name, value] of Object.entries(init.headers ?? {})) headers.set(name, value);
    const method = init.method ?? "POST";
    const body =
      method === "GET" || method === "HEAD" ? undefined : (init.rawBody ?? JSON.stringify(init.body ?? {}));
    return new Request("http://localhost/api/revalidate", {
      method,
      headers,
      body,
      duplex: "half",
    } as RequestInit);
  }

  async function send(init: Parameters<typeof request>[0]): Promise<{ response: Response; json: Json }> {
    const response = await handleRevalidation(await request(init), deps);
    return { response, json: (await response.json()) as Json };
  }

  /** Waits for every `after()` task so far (and those they schedule). */
  async function settle(): Promise<void> {
    while (pending.length > 0) await Promise.all(pending.splice(0));
  }

  return {
    deps,
    redis,
    limiters,
    shared,
    manifest,
    revalidated,
    lines,
    ip,
    iss,
    token,
    request,
    send,
    settle,
  };
}

/** Every field any receiver answer can have (receiver-contract.md, "Responses"). */
export type Json = {
  requestId: string;
  status?: string;
  id?: string | null;
  tags?: string[];
  profile?: string;
  deduplicated?: boolean;
  at?: string;
  firstSeenAt?: string;
  warning?: string;
  error?: { code: string; message: string; issues?: { path: string; message: string }[] };
};

/** Polls `check` until it returns true or `timeoutMs` passes (never a fixed sleep). */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
