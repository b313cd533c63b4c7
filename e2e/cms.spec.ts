/**
 * What a CMS-driven site expects, against `next build && next start` in Chromium: an editor
 * previews a draft through a signed link (Draft Mode) while every other visitor keeps the published
 * post; and the sitemap, the feed and the Open Graph image follow the same webhook that refreshes
 * the post. (Saving, previewing and publishing from the admin form is in actions.spec.ts, beside the
 * other signed-in tests.)
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { expect, test } from "@playwright/test";
import { mintPreviewToken, previewKey } from "../lib/preview";
import { mintRevalidationToken } from "../lib/revalidation/mint";
import { createPost, database } from "./data";
import { E2E } from "./env";

const run = promisify(execFile);
const db = database();
const key = previewKey({ previewSecret: undefined }, { secrets: [E2E.revalidationSecret] });

/** What a CMS does when an editor saves without publishing. */
async function writeDraft(slug: string, title: string, body: string): Promise<void> {
  await db.set(`blog:draft:${slug}`, JSON.stringify({ title, body, savedAt: new Date().toISOString() }));
}

async function poll<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

test.describe("draft previews", () => {
  test("the preview link shows the draft to its holder only; others keep the published post", async ({
    browser,
  }) => {
    const post = await createPost(db, `Published ${randomUUID().slice(0, 6)}`, "Published body.");
    const draftTitle = `Draft ${randomUUID().slice(0, 6)}`;
    await writeDraft(post.slug, draftTitle, "Draft body.");
    const { stdout } = await run(
      "npx",
      ["tsx", "scripts/preview-link.ts", "--slug", post.slug, "--url", E2E.baseURL, "--expires", "10m"],
      { env: { ...process.env, REVALIDATION_SECRET: E2E.revalidationSecret }, timeout: 60_000 },
    );
    const link = stdout.trim();
    expect(link).toMatch(new RegExp(`^${E2E.baseURL}/api/preview\\?token=`));

    const editor = await browser.newContext();
    const visitor = await browser.newContext();
    try {
      const editorPage = await editor.newPage();
      await editorPage.goto(link);
      await expect(editorPage).toHaveURL(`${E2E.baseURL}/posts/${post.slug}`);
      await expect(editorPage.getByTestId("post-title")).toHaveText(draftTitle);
      await expect(editorPage.getByTestId("preview-banner")).toContainText("Preview");

      // Another browser, after the draft was rendered: the published post, no banner.
      const visitorPage = await visitor.newPage();
      await visitorPage.goto(`/posts/${post.slug}`);
      await expect(visitorPage.getByTestId("post-title")).toHaveText(post.title);
      await expect(visitorPage.getByTestId("preview-banner")).toHaveCount(0);
      // And a plain request (no cookies at all) the same, twice: the draft never entered the cache.
      for (let i = 0; i < 2; i++) {
        const html = await (await fetch(`${E2E.baseURL}/posts/${post.slug}`)).text();
        expect(html).toContain(post.title);
        expect(html).not.toContain(draftTitle);
      }

      await editorPage.getByTestId("preview-exit").click();
      await expect(editorPage.getByTestId("post-title")).toHaveText(post.title);
      await expect(editorPage.getByTestId("preview-banner")).toHaveCount(0);
    } finally {
      await editor.close();
      await visitor.close();
    }
  });

  test("an expired or altered link is a clear page, not a 500, and enables nothing", async ({ page }) => {
    const post = await createPost(db, "Guarded");
    await writeDraft(post.slug, "Secret draft", "Secret body.");
    const expired = await mintPreviewToken({
      key,
      slug: post.slug,
      expiresInSeconds: 60,
      now: new Date(Date.now() - 3600_000),
    });
    let response = await page.goto(`/api/preview?token=${expired}`);
    expect(response?.status()).toBe(410);
    await expect(page.getByTestId("preview-error")).toHaveText("Preview link expired");

    const valid = await mintPreviewToken({ key, slug: post.slug });
    const altered = `${valid.slice(0, -4)}${valid.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    response = await page.goto(`/api/preview?token=${altered}`);
    expect(response?.status()).toBe(401);
    await expect(page.getByTestId("preview-error")).toHaveText("Preview link not valid");

    response = await page.goto("/api/preview");
    expect(response?.status()).toBe(401);

    await page.goto(`/posts/${post.slug}`);
    await expect(page.getByTestId("post-title")).toHaveText("Guarded");
  });
});

test("the sitemap, the feed and the Open Graph image follow the webhook that refreshes the post", async ({
  request,
}) => {
  const token = await mintRevalidationToken({
    secret: E2E.revalidationSecret,
    expiresInSeconds: 300,
    issuer: "e2e-cms",
  });
  const webhook = async (tags: string[]) => {
    const sent = await request.post("/api/revalidate", {
      headers: { authorization: `Bearer ${token}` },
      data: { id: `cms-${randomUUID()}`, tags },
    });
    expect(sent.status()).toBe(200);
  };
  // A CMS creates a post and says so with the list tag; the feed then lists it.
  const post = await createPost(db, `Feed ${randomUUID().slice(0, 6)}`);
  await webhook(["posts"]);
  await poll(
    async () => (await request.get("/feed.xml")).text(),
    (xml) => xml.includes(`<title>${post.title}</title>`),
    "the feed to list the new post",
  );
  expect((await request.get(`/posts/${post.slug}`)).status()).toBe(200);

  // Then it renames it behind the app's back and sends only the post's own tag.
  const changed = {
    ...post,
    title: `Renamed ${randomUUID().slice(0, 6)}`,
    updatedAt: new Date().toISOString(),
  };
  await db.set(`blog:post:${post.slug}`, JSON.stringify(changed));
  await webhook([`post:${post.slug}`]);

  await poll(
    async () => (await request.get("/feed.xml")).text(),
    (xml) => xml.includes(`<title>${changed.title}</title>`),
    "the feed to show the new title",
  );
  await poll(
    async () => (await request.get("/sitemap.xml")).text(),
    (xml) => xml.includes(`/posts/${post.slug}</loc>\n<lastmod>${changed.updatedAt}</lastmod>`),
    "the sitemap's lastmod to follow",
  );
  const alt = await poll(
    async () => {
      const html = await (await request.get(`/posts/${post.slug}`)).text();
      return /<meta property="og:image:alt" content="([^"]*)"/.exec(html)?.[1] ?? "";
    },
    (value) => value.startsWith(changed.title),
    "the Open Graph alt text to follow",
  );
  expect(alt).toBe(`${changed.title}: Fresh Pages`);
  const image = await request.get(`/posts/${post.slug}/opengraph-image/card`);
  expect(image.status()).toBe(200);
  expect(image.headers()["content-type"]).toBe("image/png");
});
