/**
 * Server Actions end to end, against `next build && next start`: comments (with and without
 * JavaScript), admin sign-in, post editing, and read-your-writes after each of them.
 *
 * "Stale" means: the render that follows the action (the action's own re-render, the page that
 * answers a form POST without JavaScript, or the page an edit redirects to) does not show the write. Those renders are read once, never polled: updateTag promises the
 * write on that very render. Polling is used only to wait for the action itself to finish.
 *
 * Every test here signs in with the right password only: RATE_LIMIT_SIGN_IN counts each attempt,
 * and a correct password gives the (shared) bucket its allowance back, so no test here depends on
 * the order it runs in. The lockout after wrong passwords runs on a server of its own
 * (e2e/sign-in-lockout.spec.ts), because on this bare `next start` every client shares one bucket.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { expect, type Page, test } from "@playwright/test";
import { Redis } from "@upstash/redis";
import { E2E } from "./env";

const COMMENT_POST = "read-your-writes";
/** `__Host-` prefixed: `next start` runs in production mode (lib/session.ts). */
const SESSION_COOKIE = "__Host-admin_session";
const SECOND_CONTEXT_POST = "hello-world";

const db = new Redis({
  url: E2E.upstashUrl,
  token: E2E.upstashToken,
  automaticDeserialization: false,
  enableTelemetry: false,
});

const unique = (label: string) => `${label} ${randomUUID().slice(0, 8)}`;

/** A post of its own for a test that changes posts, so seeded posts other specs read stay as they are. */
async function createPost(title: string): Promise<string> {
  const slug = `e2e-actions-${randomUUID().slice(0, 8)}`;
  const now = new Date();
  const post = { slug, title, body: "Original body.", updatedAt: now.toISOString() };
  await db.set(`blog:post:${slug}`, JSON.stringify(post));
  await db.zadd("blog:posts", { score: now.getTime(), member: slug });
  return slug;
}

async function storedPost(slug: string): Promise<{ title: string; body: string }> {
  const raw = await db.get<string>(`blog:post:${slug}`);
  if (typeof raw !== "string") throw new Error(`post ${slug} is missing from Redis`);
  return JSON.parse(raw) as { title: string; body: string };
}

async function signIn(page: Page, next = "/admin") {
  await page.goto(`/admin?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Admin password", { exact: true }).fill(E2E.adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(next);
}

async function commentTexts(page: Page): Promise<string[]> {
  const list = page.getByTestId("comment-list");
  if ((await list.count()) === 0) return [];
  return list.locator(".comment-text").allInnerTexts();
}

async function submitComment(page: Page, name: string, text: string) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Comment", { exact: true }).fill(text);
  await page.getByRole("button", { name: "Post comment" }).click();
}

test.describe("comments", () => {
  test("100 consecutive comments each show on the render that follows (with JavaScript)", async ({
    page,
  }) => {
    test.setTimeout(240_000);
    await page.goto(`/posts/${COMMENT_POST}`);
    const textarea = page.getByLabel("Comment", { exact: true });
    const stale: number[] = [];
    for (let i = 0; i < 100; i++) {
      const text = unique(`Comment #${i}`);
      await submitComment(page, `Reader ${i}`, text);
      // Done when React has reset the form: the action's response, including the re-rendered
      // comments, has been committed by then.
      await expect(textarea).toHaveValue("");
      await expect(page.getByRole("button", { name: "Post comment" })).toBeEnabled();
      if (!(await commentTexts(page)).includes(text)) stale.push(i);
    }
    console.log(`comments: 100 submitted, ${stale.length} stale on the following render`);
    expect(stale).toEqual([]);
    await expect(page.getByText("Thanks! Your comment is posted.")).toBeVisible();
    await expect(page.getByLabel("Name", { exact: true })).toHaveValue("");
  });

  test("a second browser context sees a new comment on its next load", async ({ browser, page }) => {
    const reader = await browser.newContext();
    try {
      const readerPage = await reader.newPage();
      await readerPage.goto(`/posts/${SECOND_CONTEXT_POST}`);
      const text = unique("Seen elsewhere");
      expect(await commentTexts(readerPage)).not.toContain(text);

      await page.goto(`/posts/${SECOND_CONTEXT_POST}`);
      await submitComment(page, "Writer", text);
      await expect(page.getByTestId("comment-list")).toContainText(text);

      await readerPage.reload();
      expect(await commentTexts(readerPage)).toContain(text);
    } finally {
      await reader.close();
    }
  });

  test("every post's first plain load after a comment already shows it", async ({ page, request }) => {
    // updateTag expires the tag for everyone, not only the commenter: the very next GET from any
    // client must show the write. (Paths prerendered at build failed this on Next 16.4: see
    // generateStaticParams in app/posts/[slug]/page.tsx.) Each post, read once per comment.
    const stale: string[] = [];
    for (const slug of ["hello-world", "stale-while-revalidate", "read-your-writes"]) {
      for (let i = 0; i < 3; i++) {
        const text = unique(`First read ${slug} #${i}`);
        await page.goto(`/posts/${slug}`);
        await submitComment(page, "Writer", text);
        await expect(page.getByTestId("comment-list")).toContainText(text);
        const html = await (await request.get(`/posts/${slug}`)).text();
        if (!html.includes(text)) stale.push(`${slug} #${i}`);
      }
    }
    expect(stale).toEqual([]);
  });

  test("validation errors render next to their fields and keep what was typed", async ({ page }) => {
    await page.goto(`/posts/${COMMENT_POST}`);
    const before = await commentTexts(page);
    // maxlength stops a person at 2000 characters; a crafted request is not stopped by it.
    await page.getByLabel("Comment", { exact: true }).evaluate((el) => el.removeAttribute("maxlength"));
    const tooLong = "x".repeat(2001);
    await submitComment(page, "   ", tooLong);

    const name = page.getByLabel("Name", { exact: true });
    const text = page.getByLabel("Comment", { exact: true });
    await expect(name).toHaveAttribute("aria-invalid", "true");
    await expect(name).toHaveAttribute("aria-describedby", "comment-name-error");
    await expect(page.locator("#comment-name-error")).toHaveText("Enter your name.");
    await expect(text).toHaveAttribute("aria-invalid", "true");
    await expect(page.locator("#comment-text-error")).toHaveText("A comment can be at most 2000 characters.");
    await expect(name).toHaveValue("   ");
    await expect(text).toHaveValue(tooLong);
    expect(await commentTexts(page)).toEqual(before);

    // A control character (BEL) in the text is refused; the name error is gone.
    await submitComment(page, "Ringer", "ding\u0007dong");
    await expect(page.locator("#comment-text-error")).toHaveText(
      "A comment contains control characters; remove them.",
    );
    await expect(name).not.toHaveAttribute("aria-invalid", "true");
    await expect(name).toHaveValue("Ringer");
  });

  test("commenting works with JavaScript disabled", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(`/posts/${COMMENT_POST}`);

      // Invalid: the server renders the errors into the page it answers the POST with.
      await submitComment(page, "No script", "   \n  ");
      await expect(page.locator("#comment-text-error")).toHaveText("Enter a comment.");
      await expect(page.getByLabel("Name", { exact: true })).toHaveValue("No script");

      // Valid: the page answering each POST is rendered after the write, so it shows the comment.
      const textarea = page.getByLabel("Comment", { exact: true });
      const stale: number[] = [];
      for (let i = 0; i < 10; i++) {
        const text = unique(`Without JavaScript #${i}`);
        await submitComment(page, "No script", text);
        await expect(textarea).toHaveValue(""); // the answer has loaded (a cleared form)
        if (!(await commentTexts(page)).includes(text)) stale.push(i);
      }
      console.log(`comments without JavaScript: 10 submitted, ${stale.length} stale on the following render`);
      expect(stale).toEqual([]);
      await expect(page.getByText("Thanks! Your comment is posted.")).toBeVisible();
      await expect(page.getByLabel("Name", { exact: true })).toHaveValue("");
    } finally {
      await context.close();
    }
  });
});

test.describe("admin editing", () => {
  test("20 edits each show the new title and body on the render that follows", async ({ page }) => {
    test.setTimeout(180_000);
    const slug = await createPost(unique("Editable"));
    await signIn(page);
    const stale: number[] = [];
    for (let i = 0; i < 20; i++) {
      const title = unique(`Edited title ${i}`);
      const body = `${unique(`First paragraph ${i}`)}\n\nSecond paragraph ${i}.`;
      await page.goto(`/posts/${slug}/edit`);
      await page.getByLabel("Title", { exact: true }).fill(title);
      await page.getByLabel("Text", { exact: true }).fill(body);
      await page.getByRole("button", { name: "Publish" }).click();
      await page.waitForURL(`/posts/${slug}`);
      await expect(page.getByTestId("post-title")).toBeVisible(); // the redirect's render
      const shownTitle = await page.getByTestId("post-title").textContent();
      const shownBody = (await page.getByTestId("post-body").textContent()) ?? "";
      if (shownTitle !== title || !shownBody.includes(`Second paragraph ${i}.`)) stale.push(i);
    }
    console.log(`edits: 20 saved, ${stale.length} stale on the following render`);
    expect(stale).toEqual([]);
    // The home page lists the post under its new title too (postTags.list() was updated). Polled: a
    // regeneration of "/" that a prefetch started before the last edit can finish after it, and Next
    // stores it as newer than the edit; the shared tag state marks the tags again 1 s after each edit
    // (lib/shared-tags/sync.ts, remarkLater), so such a page is regenerated on a read after that.
    const last = await storedPost(slug);
    await expect(async () => {
      await page.goto("/");
      await expect(page.getByRole("link", { name: last.title })).toBeVisible({ timeout: 200 });
    }).toPass({ timeout: 5000, intervals: [250] });
  });

  test("an edit without a session is refused and changes nothing", async ({ page, context }) => {
    const originalTitle = unique("Protected");
    const slug = await createPost(originalTitle);
    await signIn(page, `/posts/${slug}/edit`);
    await expect(page.getByLabel("Title", { exact: true })).toHaveValue(originalTitle);

    // The form is on screen, but the session is gone by the time it is submitted.
    await context.clearCookies();
    await page.getByLabel("Title", { exact: true }).fill("Hijacked title");
    await page.getByRole("button", { name: "Publish" }).click();
    await expect(page.getByTestId("edit-error")).toContainText("not signed in");
    expect((await storedPost(slug)).title).toBe(originalTitle);

    await page.goto(`/posts/${slug}`);
    await expect(page.getByTestId("post-title")).toHaveText(originalTitle);
    await page.goto(`/posts/${slug}/edit`);
    await expect(page.getByRole("heading", { name: "Sign in to edit this post" })).toBeVisible();
    await expect(page.getByLabel("Title", { exact: true })).toHaveCount(0);
  });

  test("an edit replayed without the cookie is refused by the action itself", async ({ page, request }) => {
    const originalTitle = unique("Replayed");
    const slug = await createPost(originalTitle);
    await signIn(page, `/posts/${slug}/edit`);
    // Capture a genuine action request (headers and multipart body) from a signed-in browser...
    const [actionRequest] = await Promise.all([
      page.waitForRequest((r) => r.method() === "POST" && Boolean(r.headers()["next-action"])),
      page.getByRole("button", { name: "Publish" }).click(),
    ]);
    await page.waitForURL(`/posts/${slug}`);
    const headers = actionRequest.headers();
    const body = actionRequest.postDataBuffer();
    if (!body) throw new Error("the action request had no body");

    // ...then replay it with another title and no cookie, from a context that never signed in.
    const tampered = Buffer.from(body.toString("utf8").replace(originalTitle, "Replayed without cookie"));
    const response = await request.post(`/posts/${slug}/edit`, {
      headers: {
        "content-type": headers["content-type"] ?? "",
        "next-action": headers["next-action"] ?? "",
        "next-router-state-tree": headers["next-router-state-tree"] ?? "",
        accept: "text/x-component",
        origin: new URL(page.url()).origin,
      },
      data: tampered,
    });
    expect(response.status()).toBe(200);
    expect(await response.text()).toContain("not signed in");
    expect((await storedPost(slug)).title).toBe(originalTitle);
  });

  test("sign out clears the session and revokes it on the server: a stolen copy of the cookie stops working", async ({
    page,
    context,
    browser,
  }) => {
    await signIn(page);
    const cookie = (await context.cookies()).find((c) => c.name === SESSION_COOKIE);
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Lax");
    expect(cookie?.secure).toBe(true);
    expect(cookie?.path).toBe("/");
    if (!cookie) throw new Error("no session cookie");

    // Someone copies the cookie while the session is open: it works for them...
    const thief = await browser.newContext();
    try {
      await thief.addCookies([cookie]);
      const stolen = await thief.newPage();
      await stolen.goto("/admin");
      await expect(stolen.getByRole("button", { name: "Sign out" })).toBeVisible();

      // ...until its owner signs out.
      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page.getByLabel("Admin password", { exact: true })).toBeVisible();
      expect((await context.cookies()).find((c) => c.name === SESSION_COOKIE)).toBeUndefined();

      await stolen.goto("/admin");
      await expect(stolen.getByLabel("Admin password", { exact: true })).toBeVisible();
      expect((await thief.cookies()).find((c) => c.name === SESSION_COOKIE)?.value).toBe(cookie.value);
    } finally {
      await thief.close();
    }
  });

  test("signing in and editing work with JavaScript disabled", async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const slug = await createPost(unique("No-script editable"));
      // The edit page links to the admin page's sign-in, which comes back here.
      await page.goto(`/posts/${slug}/edit`);
      await expect(page.getByRole("heading", { name: "Sign in to edit this post" })).toBeVisible();
      await page.getByTestId("sign-in-link").click();
      await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
      await page.getByLabel("Admin password", { exact: true }).fill(E2E.adminPassword);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(`/posts/${slug}/edit`);

      const stale: number[] = [];
      for (let i = 0; i < 5; i++) {
        const title = unique(`No-script title ${i}`);
        await page.goto(`/posts/${slug}/edit`);
        await page.getByLabel("Title", { exact: true }).fill(title);
        await page.getByRole("button", { name: "Publish" }).click();
        await page.waitForURL(`/posts/${slug}`);
        if ((await page.getByTestId("post-title").textContent()) !== title) stale.push(i);
      }
      console.log(`edits without JavaScript: 5 saved, ${stale.length} stale on the following render`);
      expect(stale).toEqual([]);
    } finally {
      await context.close();
    }
  });

  test("an editor saves a draft, previews it, publishes it and sees the published page at once", async ({
    browser,
  }) => {
    const post = { title: unique("Before drafts"), slug: "" };
    post.slug = await createPost(post.title);
    const editor = await browser.newContext();
    const visitor = await browser.newContext();
    try {
      const page = await editor.newPage();
      await signIn(page, `/posts/${post.slug}/edit`);
      // Someone reads the published post first, so it is cached.
      const visitorPage = await visitor.newPage();
      await visitorPage.goto(`/posts/${post.slug}`);
      await expect(visitorPage.getByTestId("post-title")).toHaveText(post.title);

      const draftTitle = unique("After drafts");
      await page.getByLabel("Title", { exact: true }).fill(draftTitle);
      await page.getByRole("button", { name: "Save draft" }).click();
      await expect(page.getByText(/Draft saved/)).toBeVisible();
      await page.reload();
      await expect(page.getByTestId("draft-note")).toBeVisible();

      await page.getByTestId("preview-draft").click();
      await expect(page.getByTestId("post-title")).toHaveText(draftTitle);
      await expect(page.getByTestId("preview-banner")).toBeVisible();
      await visitorPage.reload();
      await expect(visitorPage.getByTestId("post-title")).toHaveText(post.title);

      await page.goto(`/posts/${post.slug}/edit`);
      await expect(page.getByLabel("Title", { exact: true })).toHaveValue(draftTitle);
      await page.getByRole("button", { name: "Publish" }).click();
      await page.waitForURL(`/posts/${post.slug}`);
      await expect(page.getByTestId("post-title")).toHaveText(draftTitle);
      // Published: the visitor's next read shows it too (updateTag expired the cached page).
      await visitorPage.reload();
      await expect(visitorPage.getByTestId("post-title")).toHaveText(draftTitle);
      expect(await db.get(`blog:draft:${post.slug}`)).toBeNull();
      expect((await storedPost(post.slug)).title).toBe(draftTitle);
    } finally {
      await editor.close();
      await visitor.close();
    }
  });

  test("the README's Try it, step by step: an admin edit, a CMS change and its webhook, the activity page", async ({
    page,
  }) => {
    const run = promisify(execFile);
    const cli = (script: string, args: string[]) =>
      run("npx", ["tsx", script, ...args], {
        timeout: 60_000,
        env: {
          ...process.env,
          UPSTASH_REDIS_REST_URL: E2E.upstashUrl,
          UPSTASH_REDIS_REST_TOKEN: E2E.upstashToken,
          REVALIDATION_SECRET: E2E.revalidationSecret,
        },
      });
    const slug = await createPost(unique("Try it"));

    // 1. Read-your-writes: sign in, edit, Publish; the page landed on shows it.
    await signIn(page, "/admin");
    await page.getByRole("link", { name: (await storedPost(slug)).title }).click();
    const edited = unique("Edited in admin");
    await page.getByLabel("Title", { exact: true }).fill(edited);
    await page.getByRole("button", { name: "Publish" }).click();
    await page.waitForURL(`/posts/${slug}`);
    await expect(page.getByTestId("post-title")).toHaveText(edited);

    // 2. Stale-while-revalidate: the CMS changes a post; no reload shows it before the webhook. (Another
    // post than the one just edited: right after an edit, the shared tag state regenerates that post
    // once more, which would show the CMS change without a webhook.)
    const other = await createPost(unique("Try it, CMS"));
    await page.goto(`/posts/${other}`);
    const before = (await storedPost(other)).title;
    await expect(page.getByTestId("post-title")).toHaveText(before);
    const changed = unique("Changed in the CMS");
    await cli("scripts/cms.ts", ["--slug", other, "--title", changed]);
    for (let i = 0; i < 3; i++) {
      await page.reload();
      await expect(page.getByTestId("post-title")).toHaveText(before);
    }
    const { stdout } = await cli("scripts/revalidate.ts", ["--url", E2E.baseURL, "--tag", `post:${other}`]);
    const sent = JSON.parse(stdout.slice(stdout.indexOf("{"))) as { id: string; status: string };
    expect(sent.status).toBe("revalidated");
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("post-title")).toHaveText(changed, { timeout: 100 });
    }).toPass({ timeout: 10_000, intervals: [100] });

    // 3. Watch it: the activity page lists the webhook, and --status says it is done.
    await page.goto("/admin");
    await page.getByTestId("activity-link").click();
    await expect(page.getByTestId("activity-recent")).toContainText(sent.id);
    await expect(page.getByTestId("activity-counts")).toBeVisible();
    await page.getByLabel("Revalidation ID").fill(sent.id);
    await page.getByRole("button", { name: "Look up" }).click();
    await expect(page.getByTestId("lookup-result")).toContainText(`post:${other}`);
    const status = await cli("scripts/revalidate.ts", ["--url", E2E.baseURL, "--status", sent.id]);
    expect(status.stdout).toMatch(/^200 /);
    expect(JSON.parse(status.stdout.slice(4))).toMatchObject({
      id: sent.id,
      state: "done",
      tags: [`post:${other}`],
    });
  });
});
