/**
 * What operators and senders can see, against `next build && next start`: the activity page is for
 * a signed-in admin only (and never cached), and a sender asks for the status of its own
 * revalidations only. (The signed-in walk through the activity page is in actions.spec.ts, "Try it".)
 */
import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";
import { mintRevalidationToken } from "../lib/revalidation/mint";
import { E2E } from "./env";

const token = (issuer: string) =>
  mintRevalidationToken({ secret: E2E.revalidationSecret, issuer, expiresInSeconds: 300 });

test("the activity page shows a visitor without a session only the sign-in form", async ({
  page,
  request,
}) => {
  const id = `ops-${randomUUID()}`;
  const sent = await request.post("/api/revalidate", {
    headers: { authorization: `Bearer ${await token("e2e-ops")}` },
    data: { id, tags: ["posts"] },
  });
  expect(sent.status()).toBe(200);
  const response = await page.goto("/admin/revalidations");
  expect(response?.headers()["cache-control"] ?? "").not.toMatch(/s-maxage|public/);
  await expect(page.getByRole("heading", { name: "Sign in to see revalidations" })).toBeVisible();
  await expect(page.getByTestId("activity-recent")).toHaveCount(0);
  // The webhook just sent is recorded, but nothing of it reaches a visitor.
  expect(await page.content()).not.toContain(id);
  await page.goto(`/admin/revalidations?id=${id}`);
  await expect(page.getByTestId("lookup-result")).toHaveCount(0);
});

test("a sender reads the status of its own revalidation, and only its own", async ({ request }) => {
  const id = `ops/status:${randomUUID()}`;
  const mine = await token("e2e-ops-sender");
  expect(
    (
      await request.post("/api/revalidate", {
        headers: { authorization: `Bearer ${mine}` },
        data: { id, tags: ["posts"] },
      })
    ).status(),
  ).toBe(200);
  const path = `/api/revalidate/${encodeURIComponent(id)}`;
  await expect(async () => {
    const status = await request.get(path, { headers: { authorization: `Bearer ${mine}` } });
    expect(status.status()).toBe(200);
    expect(await status.json()).toMatchObject({ id, state: "done", tags: ["posts"] });
  }).toPass({ timeout: 5000, intervals: [100] });

  const theirs = await request.get(path, {
    headers: { authorization: `Bearer ${await token("e2e-someone-else")}` },
  });
  expect(theirs.status()).toBe(404);
  expect((await request.get(path)).status()).toBe(401);
  // The webhook route itself still answers GET with 405.
  expect((await request.get("/api/revalidate")).status()).toBe(405);
});
