/**
 * The blog demo's comment limits (per address, per post, site-wide), against the real Redis.
 * Addresses come from lib/client-ip.ts, so each test states the trust model it runs under. Mocked
 * as in post-actions.test.ts: `cookies()`, `headers()`, `updateTag`.
 *
 * The site-wide bucket is shared by every test that touches it, so it is reset before each test,
 * and this file's tests run one after another (Vitest runs a file's tests in order).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { form, freshLimitsEachTest, randomIp, stubEnvForFile, useTrust } from "./helpers";

const request = vi.hoisted(() => ({ cookies: new Map<string, string>(), headers: new Headers() }));
vi.mock("next/headers", async () => (await import("./helpers")).fakeNextHeaders(request));
vi.mock("next/cache", () => ({ updateTag: vi.fn(), cacheTag: vi.fn(), cacheLife: vi.fn() }));

const { initialState } = await import("@/lib/action-state");
const idleState = initialState<never>();
const { writePost } = await import("@/lib/posts");
const { addCommentAction } = await import("@/app/posts/[slug]/actions");

stubEnvForFile({
  RATE_LIMIT_COMMENTS: "5/1m",
  RATE_LIMIT_COMMENTS_PER_POST: "4/1m",
  RATE_LIMIT_COMMENTS_SITE: "10/1m",
});

freshLimitsEachTest(request, { siteWide: "comments-site", perAddress: "comments" });

describe("comments", () => {
  async function newPost(): Promise<string> {
    const slug = `vitest-limits-${randomUUID().slice(0, 8)}`;
    await writePost({ slug, title: "A post", body: "Body." });
    return slug;
  }
  const comment = async (slug: string, i: number) =>
    addCommentAction(idleState, form({ slug, name: "Ada", text: `Comment ${i}` }));

  it("a forged X-Forwarded-For on a bare start shares one bucket", async () => {
    const slugs = [await newPost(), await newPost()];
    const states = [];
    for (let i = 0; i < 6; i++) {
      request.headers = new Headers({ "x-forwarded-for": randomIp() });
      states.push(await comment(slugs[i % 2] ?? "", i));
    }
    expect(states.filter((s) => s.status === "success")).toHaveLength(5);
    expect(states[5]?.message).toMatch(/too fast/);
  });

  it("per post: many addresses cannot flood one post", async () => {
    useTrust({ TRUSTED_PROXY_COUNT: "1" });
    const slug = await newPost();
    const states = [];
    for (let i = 0; i < 5; i++) {
      request.headers = new Headers({ "x-forwarded-for": randomIp() });
      states.push(await comment(slug, i));
    }
    expect(states.map((s) => s.status)).toEqual(["success", "success", "success", "success", "error"]);
    expect(states[4]?.message).toMatch(/too fast on this site/);
  });

  it("site-wide: many addresses on many posts are still bounded", async () => {
    useTrust({ TRUSTED_PROXY_COUNT: "1" });
    const states = [];
    for (let i = 0; i < 12; i++) {
      request.headers = new Headers({ "x-forwarded-for": randomIp() });
      states.push(await comment(await newPost(), i));
    }
    expect(states.filter((s) => s.status === "success")).toHaveLength(10);
  });

  it("names with invisible format characters (Unicode Cf) are refused with a reason", async () => {
    const slug = await newPost();
    for (const name of ["ad\u200Bmin", "\u202Enimda", "Ada\u00AD", "\u2066Ada\u2069"]) {
      const state = await addCommentAction(idleState, form({ slug, name, text: "Hello" }));
      expect(state.fieldErrors?.name).toMatch(/invisible formatting characters/);
    }
  });
});
