/**
 * Server Action → own write visible, in Chromium: the comment form is submitted the way a reader
 * does it, and the page the submission ends on must already show the comment (no reload, no retry).
 *
 * - `no-js`: JavaScript disabled, so the browser posts the form itself and loads the page the
 *   action answers with; the round trip is click → that page's `load` event.
 * - `js`: the hydrated form, submitted by React; the round trip is click → the comment rendered in
 *   the list from the action's response.
 */
import { type Browser, chromium, type Page } from "@playwright/test";
import { chromiumLaunchOptions } from "../../chromium";
import { type BenchContext, COMMENT_SLUG } from "../lib/context";
import { onCleanup } from "../lib/processes";

export type ActionMode = "no-js" | "js";

export type ActionResult = {
  mode: ActionMode;
  trials: number;
  /** Submissions whose resulting page showed the comment. */
  visible: number;
  /** Milliseconds, submit → the resulting page rendered (successful trials). */
  roundTripsMs: number[];
  failures: string[];
};

const TIMEOUT_MS = 10_000;

async function launch(): Promise<Browser> {
  const browser = await chromium.launch(chromiumLaunchOptions());
  onCleanup("chromium", () => browser.close());
  return browser;
}

const SUBMIT = "form.comment-form button[type=submit]";
const LIST = "[data-testid=comment-list]";

async function fill(page: Page, marker: string): Promise<void> {
  await page.fill("#comment-name", "Bench");
  await page.fill("#comment-text", `Benchmark comment ${marker}`);
}

async function listContains(page: Page, marker: string): Promise<boolean> {
  const text = await page
    .locator(LIST)
    .textContent({ timeout: 1000 })
    .catch(() => "");
  return (text ?? "").includes(marker);
}

async function trialWithoutJs(page: Page, url: string, marker: string): Promise<number | string> {
  await page.goto(url);
  await fill(page, marker);
  const started = performance.now();
  await Promise.all([page.waitForEvent("load", { timeout: TIMEOUT_MS }), page.click(SUBMIT)]);
  const rendered = performance.now() - started;
  if (!(await listContains(page, marker)))
    return `not shown on the page answering the post (now at ${page.url()})`;
  return rendered;
}

async function trialWithJs(page: Page, url: string, marker: string): Promise<number | string> {
  await page.goto(url);
  // Hydrated: React has attached its props to the button, so the submission goes through React.
  await page.waitForFunction(
    (selector) => {
      const button = document.querySelector(selector);
      return button !== null && Object.keys(button).some((key) => key.startsWith("__reactProps"));
    },
    SUBMIT,
    { timeout: TIMEOUT_MS },
  );
  await fill(page, marker);
  const started = performance.now();
  await page.click(SUBMIT);
  const shown = await page
    .waitForFunction(
      ({ list, text }) =>
        document.querySelector(list)?.textContent?.includes(text) === true ||
        document.querySelector(".form-error") !== null,
      { list: LIST, text: marker },
      { timeout: TIMEOUT_MS },
    )
    .then(() => true)
    .catch(() => false);
  const rendered = performance.now() - started;
  if (!shown) return `not shown within ${TIMEOUT_MS / 1000} s`;
  if (!(await listContains(page, marker))) {
    const error = await page.locator(".form-error").textContent();
    return `the action answered an error: ${error ?? "(none)"}`;
  }
  return rendered;
}

export async function measureActions(
  context: BenchContext,
  options: { trials: number; modes: ActionMode[] },
): Promise<ActionResult[]> {
  const browser = await launch();
  const url = `${context.productUrl}/posts/${COMMENT_SLUG}`;
  const results: ActionResult[] = [];
  try {
    for (const mode of options.modes) {
      const browserContext = await browser.newContext({ javaScriptEnabled: mode === "js" });
      const page = await browserContext.newPage();
      const result: ActionResult = {
        mode,
        trials: options.trials,
        visible: 0,
        roundTripsMs: [],
        failures: [],
      };
      for (let i = 0; i < options.trials; i++) {
        const marker = `${context.runId}-${mode}-${i}`;
        const outcome = await (mode === "js" ? trialWithJs : trialWithoutJs)(page, url, marker).catch(
          (error: unknown) =>
            (error instanceof Error ? error.message.split("\n")[0] : String(error)) ?? "error",
        );
        if (typeof outcome === "number") {
          result.visible += 1;
          result.roundTripsMs.push(outcome);
        } else {
          result.failures.push(`trial ${i}: ${outcome}`);
        }
      }
      await browserContext.close();
      context.progress(
        `  action (${mode}): ${result.visible}/${result.trials} showed the comment on the resulting page`,
      );
      results.push(result);
    }
  } finally {
    await browser.close();
  }
  return results;
}
