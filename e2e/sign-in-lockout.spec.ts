/**
 * Wrong passwords lock sign-in out, whatever X-Forwarded-For says, over HTTP against a bare
 * `next start` of the suite's build.
 *
 * On its own server and its own Redis, not the suite's. The suite's server is a bare `next start`
 * with no client-address trust configured, so every client shares one sign-in bucket there, by design
 * (lib/client-ip.ts, docs/security.md); a lockout on it would lock every later test out of signing in
 * for the rest of the window, so the suite's result would depend on the order its tests run in. Giving
 * the e2e server a trust setting so that tests could present addresses of their own would test a
 * different configuration than the one this checks (a bare start must ignore X-Forwarded-For). So
 * this spec starts a second `next start` of the same build (scripts/cluster, one instance, read
 * directly, not through the cluster's front) over a Redis endpoint of its own, with the suite's
 * environment, and locks only that out. Ports: E2E_LOCKOUT_PORT (and the one after it),
 * E2E_LOCKOUT_REDIS_PORT; see e2e/env.ts.
 */
import { expect, type Page, test } from "@playwright/test";
import type { Cluster } from "../scripts/cluster/cluster";
import { type LocalUpstash, startLocalUpstash } from "../scripts/upstash-local/server";
import { startE2ECluster } from "./cluster";
import { E2E } from "./env";

/** `__Host-` prefixed: `next start` runs in production mode (lib/session.ts). */
const SESSION_COOKIE = "__Host-admin_session";

let endpoint: LocalUpstash | undefined;
let server: Cluster | undefined;
let site = "";

test.beforeAll(async () => {
  test.setTimeout(120_000);
  endpoint = await startLocalUpstash({
    port: E2E.lockoutUpstashPort,
    engine: "redis-server",
    token: E2E.upstashToken,
    log: (line) => console.log(line),
  });
  server = await startE2ECluster({
    name: "lockout",
    upstashUrl: endpoint.url,
    frontPort: E2E.lockoutPort,
    instances: 1,
  });
  const [instance] = server.instances();
  if (!instance) throw new Error("the lockout server did not start");
  site = instance.url;
});

test.afterAll(async () => {
  await server?.close();
  await endpoint?.close();
});

/** One sign-in attempt claiming `forwardedFor`; done when React has reset the form (a password is never handed back). */
async function attempt(page: Page, password: string, forwardedFor: string): Promise<"wrong" | "blocked"> {
  const field = page.getByLabel("Admin password", { exact: true });
  const submit = page.getByRole("button", { name: "Sign in" });
  await page.setExtraHTTPHeaders({ "x-forwarded-for": forwardedFor });
  await field.fill(password);
  await submit.click();
  await expect(field).toHaveValue("");
  await expect(submit).toBeEnabled();
  if (await page.getByText(/Too many sign-in attempts/).isVisible()) return "blocked";
  await expect(page.locator("#admin-password-error")).toHaveText("That is not the admin password.");
  return "wrong";
}

test("wrong passwords are rate-limited, whatever X-Forwarded-For says", async ({ browser }) => {
  test.setTimeout(120_000);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${site}/admin`);
    const outcomes: string[] = [];
    // 40 attempts, each claiming another address: a bare next start trusts none of them.
    for (let i = 0; i < 40; i++)
      outcomes.push(await attempt(page, `wrong-password-${i}`, `198.51.100.${i + 1}`));
    // An unparseable address does not switch the limit off either.
    for (let i = 0; i < 25; i++) outcomes.push(await attempt(page, `not-an-ip-${i}`, "not-an-ip"));
    console.log(
      `wrong passwords: ${outcomes.filter((o) => o === "wrong").length} compared, ${outcomes.filter((o) => o === "blocked").length} blocked`,
    );
    // RATE_LIMIT_SIGN_IN is 5/15m under e2e: five are compared, every later one is refused.
    expect(outcomes.slice(0, 5)).toEqual(["wrong", "wrong", "wrong", "wrong", "wrong"]);
    expect(outcomes.slice(5).every((o) => o === "blocked")).toBe(true);
    await expect(
      page.getByText(/Too many sign-in attempts from your address\. Try again in \d+ minutes?\./),
    ).toBeVisible();

    // ...and then even the right password is refused (nothing is compared) until the window passes.
    await attempt(page, E2E.adminPassword, "203.0.113.77");
    await expect(page).toHaveURL(`${site}/admin`);
    expect((await context.cookies()).find((c) => c.name === SESSION_COOKIE)).toBeUndefined();
  } finally {
    await context.close();
  }
});

test("the suite's own server is not locked out: the right password still signs in there", async ({
  page,
}) => {
  // Run after the lockout above (or alone): the lockout stayed on its own server and Redis.
  await page.goto("/admin");
  await page.getByLabel("Admin password", { exact: true }).fill(E2E.adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Signed in" })).toBeVisible();
});
