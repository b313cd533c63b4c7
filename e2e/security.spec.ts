/**
 * The attacks of the security-hardening issue on the webhook and the pages, replayed over HTTP
 * against `next build && next start` (a bare start: no client-address trust configured). They use
 * the blog demo's tags and pages. The sign-in rows live in sign-in-lockout.spec.ts, on a server of
 * their own (they block its sign-in bucket); the local endpoint's in local-endpoint.spec.ts.
 */
import { expect, test } from "@playwright/test";
import { SignJWT } from "jose";
import { mintRevalidationToken } from "../lib/revalidation/mint";
import { E2E } from "./env";

const secret = new TextEncoder().encode(E2E.revalidationSecret);

async function revalidate(
  request: import("@playwright/test").APIRequestContext,
  token: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const response = await request.post("/api/revalidate", {
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    data: body,
  });
  return { status: response.status(), json: (await response.json()) as Record<string, unknown> };
}

test.describe("the webhook", () => {
  test("tokens without iss, or with a scope such as s* or post*, are 401s that say why", async ({
    request,
  }) => {
    const sign = (claims: Record<string, unknown>, iss?: string) => {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setAudience("revalidate")
        .setExpirationTime("5m");
      return (iss ? jwt.setIssuer(iss) : jwt).sign(secret);
    };
    const noIss = await revalidate(request, await sign({}), { tags: ["posts"] });
    expect(noIss.status).toBe(401);
    expect(JSON.stringify(noIss.json)).toContain("npm run token -- --iss");
    for (const pattern of ["s*", "post*"]) {
      const res = await revalidate(request, await sign({ scope: [pattern] }, "e2e-cms"), { tags: ["site"] });
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.json)).toContain(`is not valid: use one of *, site, posts, post:*`);
    }
  });

  test("15 bad tokens from a CMS's address, then the CMS's valid token: the valid token is served", async ({
    request,
  }) => {
    const cmsAddress = { "x-forwarded-for": "203.0.113.10" };
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      statuses.push((await revalidate(request, `bad.token.${i}`, { tags: ["posts"] }, cmsAddress)).status);
    }
    // RATE_LIMIT_AUTH_FAILURES is 10/5m: guessing is slowed down...
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    // ...but the CMS's own delivery is never refused for it.
    const token = await mintRevalidationToken({
      secret: E2E.revalidationSecret,
      issuer: "e2e-cms",
      scope: ["post:*"],
      expiresInSeconds: 300,
    });
    const valid = await revalidate(
      request,
      token,
      { id: `cms-${Date.now()}`, tags: ["post:hello-world"] },
      cmsAddress,
    );
    expect(valid.status).toBe(200);
    expect(valid.json.status).toBe("revalidated");
  });

  test("a comments:* token sending the CMS's ID first cannot make the post:* delivery a no-op", async ({
    request,
  }) => {
    const id = `post-42-rev-${Date.now()}`;
    const narrow = await mintRevalidationToken({
      secret: E2E.revalidationSecret,
      issuer: "e2e-cms",
      scope: ["comments:*"],
      expiresInSeconds: 300,
    });
    const broad = await mintRevalidationToken({
      secret: E2E.revalidationSecret,
      issuer: "e2e-cms",
      scope: ["post:*"],
      expiresInSeconds: 300,
    });
    expect((await revalidate(request, narrow, { id, tags: ["comments:hello-world"] })).json.status).toBe(
      "revalidated",
    );
    const delivery = await revalidate(request, broad, { id, tags: ["post:hello-world"] });
    expect(delivery.status).toBe(200);
    expect(delivery.json.status).toBe("revalidated");
    // The same sender reusing an ID for other tags is told so.
    const conflict = await revalidate(request, broad, { id, tags: ["post:read-your-writes"] });
    expect(conflict.status).toBe(409);
    expect(conflict.json).toMatchObject({ error: { code: "id_conflict" } });
  });
});

test.describe("the Content-Security-Policy", () => {
  test("carries a script-src, and pages (with JavaScript) hit no violation", async ({ page, request }) => {
    const header = (await request.get("/")).headers()["content-security-policy"] ?? "";
    expect(header).toContain("script-src 'self' 'unsafe-inline'");
    expect(header).not.toContain("unsafe-eval");

    const violations: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (event) => {
        console.error(`Content Security Policy violation: ${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    for (const path of ["/", "/posts/hello-world", "/admin"]) {
      await page.goto(path);
      await page.waitForLoadState("networkidle");
    }
    // Hydrated: the comment form posts through React, which needs the inline bootstrap scripts.
    await page.goto("/posts/stale-while-revalidate");
    const text = `CSP check ${Date.now()}`;
    await page.getByLabel("Name", { exact: true }).fill("CSP");
    await page.getByLabel("Comment", { exact: true }).fill(text);
    await page.getByRole("button", { name: "Post comment" }).click();
    await expect(page.getByLabel("Comment", { exact: true })).toHaveValue("");
    await expect(page.getByTestId("comment-list")).toContainText(text);
    expect(violations).toEqual([]);
  });
});
