/**
 * The webhook path end to end, against `next build && next start`: a CMS changes its own data
 * (here: the post's JSON in Redis, bypassing the app), the cached page stays stale, the project's
 * CLI revalidates the post's tag, and the page shows the change. A revalidation with a bad token
 * must change nothing.
 *
 * `revalidateTag(tag, "max")` serves the stale page once more while it regenerates, so freshness
 * is polled with a deadline, never asserted on a single read.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { expect, type Page, test } from "@playwright/test";
import { mintRevalidationToken } from "../lib/revalidation/mint";
import { changeTitleBehindTheSitesBack, createPost, database } from "./data";
import { E2E } from "./env";

const run = promisify(execFile);

const db = database();

async function titleAfterReload(page: Page, slug: string): Promise<string> {
  await page.goto(`/posts/${slug}`);
  return (await page.getByTestId("post-title").textContent()) ?? "";
}

async function revalidateWithCli(tag: string, id: string): Promise<string> {
  const { stdout } = await run(
    "npx",
    ["tsx", "scripts/revalidate.ts", "--url", E2E.baseURL, "--tag", tag, "--id", id, "--iss", "e2e"],
    { env: { ...process.env, REVALIDATION_SECRET: E2E.revalidationSecret }, timeout: 60_000 },
  );
  return stdout;
}

test("a CMS change shows after the CLI revalidates its tag, and not after a bad token", async ({
  page,
  request,
}) => {
  const original = `Original ${randomUUID().slice(0, 8)}`;
  const post = await createPost(db, original);

  // First visit renders and caches the post.
  expect(await titleAfterReload(page, post.slug)).toBe(original);

  const changed = `Changed by the CMS ${randomUUID().slice(0, 8)}`;
  await changeTitleBehindTheSitesBack(db, post, changed);
  // Cached: reloads keep showing the old title until someone revalidates.
  for (let i = 0; i < 3; i++) expect(await titleAfterReload(page, post.slug)).toBe(original);

  const stdout = await revalidateWithCli(`post:${post.slug}`, `e2e-${randomUUID()}`);
  expect(stdout).toContain("HTTP 200");
  expect(stdout).toContain('"status": "revalidated"');

  await expect
    .poll(() => titleAfterReload(page, post.slug), { timeout: 20_000, intervals: [250, 500, 1000] })
    .toBe(changed);

  // A change "revalidated" with a token signed by the wrong secret: refused, nothing changes. On a
  // post of its own, cached and untouched: right after a real invalidation the shared tag state
  // re-marks the tags once (lib/shared-tags, remarkLater), and that regeneration would show any
  // change made meanwhile, with or without a webhook.
  const guarded = await createPost(db, `Guarded ${randomUUID().slice(0, 8)}`);
  expect(await titleAfterReload(page, guarded.slug)).toBe(guarded.title);
  const second = `Second change ${randomUUID().slice(0, 8)}`;
  await changeTitleBehindTheSitesBack(db, guarded, second);
  const wrongSecret = await mintRevalidationToken({
    secret: `not-the-sites-secret-${randomUUID()}`,
    issuer: "e2e",
    expiresInSeconds: 300,
  });
  const forged = await request.post("/api/revalidate", {
    headers: { authorization: `Bearer ${wrongSecret}`, "content-type": "application/json" },
    data: { id: `e2e-${randomUUID()}`, tags: [`post:${guarded.slug}`] },
  });
  expect(forged.status()).toBe(401);
  expect(forged.headers()["www-authenticate"]).toContain('error="invalid_token"');
  expect(forged.headers()["cache-control"]).toBe("no-store");
  expect((await forged.json()).error.code).toBe("unauthorized");

  // Give a wrongly accepted revalidation every chance to show: stale-while-revalidate needs two reads.
  for (let i = 0; i < 4; i++) expect(await titleAfterReload(page, guarded.slug)).toBe(guarded.title);
});

test("the receiver answers other methods with 405 and is never cached", async ({ request }) => {
  for (let i = 0; i < 2; i++) {
    const response = await request.get("/api/revalidate");
    expect(response.status()).toBe(405);
    expect(response.headers().allow).toBe("POST");
    expect(response.headers()["cache-control"]).toBe("no-store");
    // A fresh request ID each time: the answer was not prerendered or cached.
    expect(response.headers()["x-request-id"]).toBeTruthy();
  }
  const [a, b] = await Promise.all([request.get("/api/revalidate"), request.get("/api/revalidate")]);
  expect(a.headers()["x-request-id"]).not.toBe(b.headers()["x-request-id"]);
});
