/**
 * Several `next start` instances of one build, as a self-hosted deployment behind a load balancer
 * runs them (scripts/cluster: a copy of the build per instance, a round-robin front, one Redis).
 * What must hold across them: a webhook to any one instance refreshes every instance within 1 s,
 * under `'max'` (at most one stale read, never a blocked one, never a read that goes back in time),
 * and that survives a restart, a new deploy and a Redis outage. A comment posted on one instance
 * shows on the others within 1 s.
 *
 * The instances are copies of the build the Playwright web server made (`.next`), so only the
 * deploy test builds again. Every test uses posts of its own, so the order of tests does not
 * matter. Reads are pinned to one instance (`x-cluster-instance`) and polled with a deadline;
 * every read is kept, and the assertions look at the whole sequence.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { buildApp, type Cluster, PROJECT_ROOT } from "../scripts/cluster/cluster";
import { PIN_HEADER, SERVED_BY_HEADER } from "../scripts/cluster/front";
import { type LocalUpstash, startLocalUpstash } from "../scripts/upstash-local/server";
import {
  judge,
  type Look,
  pathOf,
  readPage,
  sendWebhook,
  startE2ECluster,
  summarize,
  titleOf,
  type Verdict,
  waitUntilShown,
  watchPage,
} from "./cluster";
import { changeTitleBehindTheSitesBack, createPost, database, type StoredPost, unique } from "./data";
import { E2E } from "./env";

/** The promise: fresh on every instance within 1 s of the webhook's 200 (no allowance). */
const FRESH_WITHIN_MS = 1000;
/** How long each page is watched after the reference moment: past the promise, to see how late a late page is. */
const WATCH_MS = 2500;
/** A read that takes this long was blocked on a render (or on Redis); a cached page answers in tens of ms. */
const SLOW_READ_MS = 500;

const ALL = ["i1", "i2", "i3"];

type Watch = { instance: string; path: string; look: Look };

function pagesOf(instances: string[], slug: string): Watch[] {
  return instances.flatMap((instance) =>
    (["home", "post"] as const).map((kind) => ({
      instance,
      path: pathOf(kind, slug),
      look: titleOf(kind, slug),
    })),
  );
}

/** Watches every page at once from `since`, and judges each against `fresh`. */
async function watchAll(cluster: Cluster, pages: Watch[], fresh: string, since: number, windowMs = WATCH_MS) {
  const verdicts = await Promise.all(
    pages.map(async ({ instance, path, look }) =>
      judge(
        instance,
        path,
        await watchPage({
          cluster,
          instance,
          path,
          look,
          since,
          windowMs,
          stopAfter: { shows: fresh, reads: 8 },
        }),
        fresh,
      ),
    ),
  );
  console.log(summarize(verdicts));
  return verdicts;
}

/** What went wrong with each verdict; an empty list is a pass. */
function problems(verdicts: Verdict[], freshWithinMs: number): string[] {
  return verdicts.flatMap((v) => {
    const found: string[] = [];
    if (v.misrouted > 0) found.push(`${v.label}: ${v.misrouted} reads not a 200 from the pinned instance`);
    if (v.freshAt === undefined) found.push(`${v.label}: never fresh [${v.trace}]`);
    else if (v.freshAt > freshWithinMs)
      found.push(`${v.label}: fresh only at +${Math.round(v.freshAt)} ms [${v.trace}]`);
    if (v.wentBack > 0) found.push(`${v.label}: ${v.wentBack} reads went back after fresh [${v.trace}]`);
    return found;
  });
}

/**
 * Set-up: every instance in `instances` serves the post's page and the home page listing it, both
 * cached, with the post's current title. A new post is on no instance's cached home page, so each
 * gets a `posts` webhook of its own (the set-up must not depend on what is under test).
 */
async function cacheEverywhere(cluster: Cluster, instances: string[], post: StoredPost): Promise<void> {
  for (const instance of instances) {
    const webhook = await sendWebhook(cluster, instance, ["posts"]);
    expect(webhook.status, webhook.body).toBe(200);
  }
  await Promise.all(
    pagesOf(instances, post.slug).map(({ instance, path, look }) =>
      waitUntilShown(cluster, instance, path, look, post.title),
    ),
  );
}

test.describe("instances of one build on one database", () => {
  let cluster: Cluster;
  const db = database(E2E.upstashUrl);

  test.beforeAll(async () => {
    test.setTimeout(120_000);
    cluster = await startE2ECluster({
      name: "shared",
      upstashUrl: E2E.upstashUrl,
      frontPort: E2E.clusterPort,
    });
  });

  test.afterAll(async () => {
    await cluster?.close();
  });

  test("the machinery: each instance its own build copy, round robin, pinning, stop and start", async () => {
    const instances = cluster.instances();
    expect(instances.map((i) => i.id)).toEqual(ALL);
    expect(new Set(instances.map((i) => i.distDir)).size).toBe(3);
    expect(new Set(instances.map((i) => i.pid)).size).toBe(3);
    for (const i of instances) expect(i.distDir.startsWith(join(PROJECT_ROOT, ".next-"))).toBe(true);

    const servedBy = async (headers: Record<string, string> = {}) => {
      const response = await fetch(`${cluster.frontUrl}/robots.txt`, { headers });
      await response.arrayBuffer();
      return `${response.status} ${response.headers.get(SERVED_BY_HEADER)}`;
    };
    const rotation: string[] = [];
    for (let i = 0; i < 6; i++) rotation.push(await servedBy());
    // Three consecutive requests reach three different instances, and the turn comes round again.
    expect(new Set(rotation.slice(0, 3))).toEqual(new Set(["200 i1", "200 i2", "200 i3"]));
    expect(rotation.slice(3)).toEqual(rotation.slice(0, 3));
    for (let i = 0; i < 3; i++) expect(await servedBy({ [PIN_HEADER]: "i2" })).toBe("200 i2");
    expect(await servedBy({ [PIN_HEADER]: "i9" })).toBe("400 none");

    // A POST with a body is forwarded as it is: the receiver itself refuses a forged token.
    const forged = await fetch(`${cluster.frontUrl}/api/revalidate`, {
      method: "POST",
      headers: {
        authorization: "Bearer not-a-token",
        "content-type": "application/json",
        [PIN_HEADER]: "i3",
      },
      body: JSON.stringify({ id: "e2e-forged", tags: ["posts"] }),
    });
    expect(forged.status).toBe(401);
    expect(forged.headers.get(SERVED_BY_HEADER)).toBe("i3");
    expect(forged.headers.get("www-authenticate")).toContain("invalid_token");

    await cluster.stop("i2");
    expect(cluster.instance("i2").running).toBe(false);
    expect(await servedBy({ [PIN_HEADER]: "i2" })).toBe("503 none");
    const withoutI2 = new Set<string>();
    for (let i = 0; i < 4; i++) withoutI2.add(await servedBy());
    expect(withoutI2).toEqual(new Set(["200 i1", "200 i3"]));
    await cluster.start("i2");
    expect(await servedBy({ [PIN_HEADER]: "i2" })).toBe("200 i2");
  });

  test("a webhook to one instance refreshes every instance within 1 s, and no read goes back", async () => {
    const post = await createPost(db, unique("Original"));
    await cacheEverywhere(cluster, ALL, post);

    const changed = unique("Changed");
    await changeTitleBehindTheSitesBack(db, post, changed);
    const webhook = await sendWebhook(cluster, "i1", [`post:${post.slug}`]);
    expect(webhook.status, webhook.body).toBe(200);
    expect(webhook.servedBy).toBe("i1");

    // i1 received the webhook; i2 and i3 only share its Redis.
    const verdicts = await watchAll(cluster, pagesOf(ALL, post.slug), changed, webhook.answeredAt);
    expect(problems(verdicts, FRESH_WITHIN_MS)).toEqual([]);
  });

  test("'max' on an instance that did not get the webhook: stale at most until fresh, no read blocks", async () => {
    const post = await createPost(db, unique("Original"));
    await cacheEverywhere(cluster, ["i2"], post);

    const changed = unique("Changed");
    await changeTitleBehindTheSitesBack(db, post, changed);
    const webhook = await sendWebhook(cluster, "i1", [`post:${post.slug}`]);
    expect(webhook.status, webhook.body).toBe(200);

    // Read i2 often (every 25 ms), so the stale read of 'max' (if any) is seen, and timed.
    const reads = await Promise.all(
      (["post", "home"] as const).map((kind) =>
        watchPage({
          cluster,
          instance: "i2",
          path: pathOf(kind, post.slug),
          look: titleOf(kind, post.slug),
          since: webhook.answeredAt,
          windowMs: WATCH_MS,
          intervalMs: 25,
          stopAfter: { shows: changed, reads: 8 },
        }),
      ),
    );
    const verdicts = reads.map((sequence, i) =>
      judge("i2", pathOf(i === 0 ? "post" : "home", post.slug), sequence, changed),
    );
    console.log(summarize(verdicts));
    const slow = reads.flat().filter((read) => read.latencyMs > SLOW_READ_MS);
    // A later read is fresh (within the promise), none goes back, and none waits for the re-render.
    expect(problems(verdicts, FRESH_WITHIN_MS)).toEqual([]);
    expect(slow.map((read) => `+${Math.round(read.at)}ms took ${Math.round(read.latencyMs)} ms`)).toEqual([]);
  });

  test("an instance restarted after a webhook serves fresh pages within 1 s of answering", async () => {
    const post = await createPost(db, unique("Original"));
    await cacheEverywhere(cluster, ["i3"], post);

    const changed = unique("Changed");
    await changeTitleBehindTheSitesBack(db, post, changed);
    const webhook = await sendWebhook(cluster, "i3", [`post:${post.slug}`]);
    expect(webhook.status, webhook.body).toBe(200);

    // Nobody reads before the restart: what i3 learned lived only in its process, and its build
    // copy still holds the pages it rendered before.
    await cluster.restart("i3");
    const answeringAt = performance.now();
    const verdicts = await watchAll(cluster, pagesOf(["i3"], post.slug), changed, answeringAt);
    expect(problems(verdicts, FRESH_WITHIN_MS)).toEqual([]);
  });

  test("deploy window: a new build started after a webhook to the old one serves fresh pages within 1 s", async () => {
    // One more `next build` (into its own folder), on a 2-core machine next to running servers.
    test.setTimeout(300_000);
    const post = await createPost(db, unique("Original"));
    await cacheEverywhere(cluster, ["i1"], post);

    // Build B prerenders the home page now, with the post's original title in it.
    const buildB = ".next-e2e-build-b";
    try {
      await buildApp({
        distDir: buildB,
        env: cluster.env,
        logFile: join(PROJECT_ROOT, ".next-e2e-shared-logs", "build-b.log"),
        timeoutMs: 240_000,
      });

      const changed = unique("Changed");
      await changeTitleBehindTheSitesBack(db, post, changed);
      const webhook = await sendWebhook(cluster, "i1", [`post:${post.slug}`]);
      expect(webhook.status, webhook.body).toBe(200);

      const b = await cluster.add({ fromBuild: buildB, port: E2E.clusterPort + 4 });
      const answeringAt = performance.now();
      try {
        const verdicts = await watchAll(cluster, pagesOf([b.id], post.slug), changed, answeringAt);
        expect(problems(verdicts, FRESH_WITHIN_MS)).toEqual([]);
      } finally {
        await cluster.stop(b.id);
      }
    } finally {
      rmSync(join(PROJECT_ROOT, buildB), { recursive: true, force: true });
    }
  });

  test("a comment posted in the browser on one instance shows on the others within 1 s", async ({ page }) => {
    const post = await createPost(db, unique("Commented"));
    const text = unique("Seen on every instance");
    const look: Look = (html) => (html.includes(text) ? text : undefined);
    const path = pathOf("post", post.slug);
    // i2 and i3 have the post's page, without the comment, in their caches.
    for (const instance of ["i2", "i3"]) {
      const read = await readPage(cluster, instance, path, look, performance.now());
      expect(read.status).toBe(200);
      expect(read.shows).toBeUndefined();
    }

    // Every request of this page (the document, its assets, the Server Action) goes to i1.
    await page.setExtraHTTPHeaders({ [PIN_HEADER]: "i1" });
    const response = await page.goto(`${cluster.frontUrl}${path}`);
    expect(response?.headers()[SERVED_BY_HEADER]).toBe("i1");
    await page.getByLabel("Name", { exact: true }).fill("Writer");
    await page.getByLabel("Comment", { exact: true }).fill(text);
    await page.getByRole("button", { name: "Post comment" }).click();
    await expect(page.getByTestId("comment-list")).toContainText(text);
    const shownAt = performance.now();

    const others = ["i2", "i3"].map((instance) => ({ instance, path, look }));
    const verdicts = await watchAll(cluster, others, text, shownAt);
    expect(problems(verdicts, FRESH_WITHIN_MS)).toEqual([]);
  });
});

test.describe("instances on a Redis of their own", () => {
  // Its own endpoint, so stopping it leaves the rest of the suite's Redis alone. redis-server keeps
  // a snapshot in `dataDir`, so the data written before the outage is there after it.
  const dataDir = mkdtempSync(join(tmpdir(), "e2e-cluster-redis-"));
  const redisUrl = `http://127.0.0.1:${E2E.clusterUpstashPort}`;
  let endpoint: LocalUpstash | undefined;
  let cluster: Cluster;

  const startRedis = async () => {
    endpoint = await startLocalUpstash({
      port: E2E.clusterUpstashPort,
      engine: "redis-server",
      token: E2E.upstashToken,
      dataDir,
      log: (line) => console.log(line),
    });
  };

  test.beforeAll(async () => {
    test.setTimeout(120_000);
    await startRedis();
    cluster = await startE2ECluster({
      name: "outage",
      upstashUrl: redisUrl,
      frontPort: E2E.clusterPort + 10,
    });
  });

  test.afterAll(async () => {
    await cluster?.close();
    await endpoint?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("an invalidation during a Redis outage is not lost: fresh on every instance once Redis is back", async () => {
    test.setTimeout(120_000);
    const db = database(redisUrl);
    const post = await createPost(db, unique("Original"));
    const postPages = ALL.map((instance) => ({
      instance,
      path: pathOf("post", post.slug),
      look: titleOf("post", post.slug),
    }));
    await Promise.all(
      postPages.map(({ instance, path, look }) => waitUntilShown(cluster, instance, path, look, post.title)),
    );
    const changed = unique("Changed");
    await changeTitleBehindTheSitesBack(db, post, changed);

    await endpoint?.close();
    endpoint = undefined;
    let duringOutage: Awaited<ReturnType<typeof sendWebhook>> | undefined;
    try {
      // Cached pages do not need Redis: every instance still answers them, without waiting on it.
      for (const instance of ALL) {
        for (const path of ["/", pathOf("post", post.slug)]) {
          const read = await readPage(cluster, instance, path, () => undefined, performance.now());
          expect(`${instance} ${path} ${read.status}`).toBe(`${instance} ${path} 200`);
          expect(read.latencyMs, `${instance} ${path} took ${Math.round(read.latencyMs)} ms`).toBeLessThan(
            FRESH_WITHIN_MS,
          );
        }
      }
      // The CMS's webhook during the outage. With the invalidation not recorded where the other
      // instances can see it, a 200 would be a promise nobody keeps; a 503 tells the CMS to retry.
      duringOutage = await sendWebhook(cluster, "i1", [`post:${post.slug}`], `e2e-outage-${post.slug}`);
    } finally {
      await startRedis();
    }
    if (!duringOutage) throw new Error("the webhook during the outage was not sent");
    console.log(`webhook during the outage: ${duringOutage.status} ${duringOutage.body}`);
    expect([200, 503]).toContain(duringOutage.status);
    const stored = await db.get<string>(`blog:post:${post.slug}`);
    expect(typeof stored === "string" && JSON.parse(stored).title).toBe(changed);

    let since = performance.now();
    if (duringOutage.status === 503) {
      // What a CMS does with a 503: send the same delivery again.
      const retry = await sendWebhook(cluster, "i1", [`post:${post.slug}`], `e2e-outage-${post.slug}`);
      expect(retry.status, retry.body).toBe(200);
      since = retry.answeredAt;
    }
    // A 200 during the outage promised the invalidation: it must reach every instance without a retry.
    const verdicts = await watchAll(cluster, postPages, changed, since, 5000);
    expect(problems(verdicts, 5000)).toEqual([]);
  });
});
