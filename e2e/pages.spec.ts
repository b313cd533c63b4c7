import { expect, test } from "@playwright/test";

const seeded = [
  { slug: "hello-world", title: "Hello, world" },
  { slug: "stale-while-revalidate", title: "Stale-while-revalidate, explained" },
  { slug: "read-your-writes", title: "Read-your-writes with updateTag" },
];

test("the home page lists the seeded posts, each linking to its page", async ({ page }) => {
  const response = await page.goto("/");
  expect(response?.status()).toBe(200);
  await expect(page.getByRole("heading", { level: 1, name: "Posts" })).toBeVisible();
  for (const post of seeded) {
    await expect(page.getByRole("link", { name: post.title })).toHaveAttribute("href", `/posts/${post.slug}`);
  }
  await expect(page.getByRole("main")).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Site" })).toBeVisible();
});

test("a seeded post page renders its title, body and comments section", async ({ page }) => {
  const response = await page.goto("/posts/hello-world");
  expect(response?.status()).toBe(200);
  await expect(page.getByTestId("post-title")).toHaveText("Hello, world");
  await expect(page.getByTestId("post-body")).toContainText("served from the Next.js cache");
  await expect(page.getByRole("heading", { level: 2, name: "Comments" })).toBeVisible();
  await expect(page).toHaveTitle("Hello, world · Fresh Pages");
});

test("clicking a post in the list opens it", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("link", { name: "Stale-while-revalidate, explained" }).click();
  await expect(page).toHaveURL(/\/posts\/stale-while-revalidate$/);
  await expect(page.getByTestId("post-title")).toHaveText("Stale-while-revalidate, explained");
});

for (const path of ["/", "/posts/hello-world"]) {
  test(`a cached block's render time on ${path} stays the same across reloads`, async ({ page }) => {
    await page.goto(path);
    const renderedAt = page.getByTestId("rendered-at").first().locator("time");
    const first = await renderedAt.getAttribute("datetime");
    expect(first).toMatch(/^\d{4}-\d\d-\d\dT/);
    for (let i = 0; i < 3; i++) {
      await page.reload();
      await expect(renderedAt).toHaveAttribute("datetime", first ?? "");
    }
  });
}

test("an unknown post shows the not-found page, is not indexed, and answers 404", async ({
  page,
  request,
}) => {
  const slug = `no-such-post-${Date.now()}`;
  await page.goto(`/posts/${slug}`);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await expect(page.locator('meta[name="robots"]')).toHaveAttribute("content", /noindex/);
  // Next 16.4 with cacheComponents sends the first request for an unknown dynamic param with the
  // fallback shell's 200 before the resumed render reaches notFound() (vercel/next.js#95380,
  // fix pending in #95561); every later request gets the stored 404. The page above is already
  // the not-found page with noindex, so search engines and people are served correctly.
  const again = await request.get(`/posts/${slug}`);
  expect(again.status()).toBe(404);
});

test("a malformed slug is the not-found page (never an error), and a 404 from the second request on", async ({
  request,
}) => {
  // A slug that can never be a post (a comma and a space), unique so no earlier request cached it.
  const path = `/posts/a,b%20c-${Date.now()}`;
  const first = await request.get(path);
  // The first request is the fallback shell's 200 (vercel/next.js#95380, as for an unknown post).
  expect(first.status()).toBe(200);
  const html = await first.text();
  expect(html).toContain("Page not found");
  expect(html).toMatch(/<meta name="robots" content="[^"]*noindex/);
  expect((await request.get(path)).status()).toBe(404);
});

test("pages send the security headers", async ({ request }) => {
  const response = await request.get("/");
  const headers = response.headers();
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(headers["x-powered-by"]).toBeUndefined();
});
