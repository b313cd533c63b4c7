/**
 * The blog demo's actions (app/posts/[slug]/actions.ts), called as functions against the real Redis
 * (local endpoint). The pattern they follow is tested in define-action.test.ts.
 *
 * Mocked, because they only exist inside a Next.js request: `updateTag` (and the cacheTag/cacheLife
 * calls lib/posts.ts makes), `cookies()` and `headers()`. `redirect()` is the real one: it throws an
 * error whose digest starts with NEXT_REDIRECT, which is what Next.js catches.
 */
import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { form, randomIp, redirectOf, stubEnvForFile } from "./helpers";

const request = vi.hoisted(() => ({ cookies: new Map<string, string>(), headers: new Headers() }));
vi.mock("next/headers", async () => (await import("./helpers")).fakeNextHeaders(request));

vi.mock("next/cache", () => ({ updateTag: vi.fn(), cacheTag: vi.fn(), cacheLife: vi.fn() }));

const { updateTag } = await import("next/cache");
const { initialState } = await import("@/lib/action-state");
const idleState = initialState<never>();
const { readComments } = await import("@/lib/comments");
const { readDraft, readPost, writePost } = await import("@/lib/posts");
const { sessionCookieName, sessionKey, signSessionToken, startAdminSession } = await import("@/lib/session");
const SESSION_COOKIE = sessionCookieName();
const { addCommentAction, editPostAction } = await import("@/app/posts/[slug]/actions");

const PASSWORD = "vitest-admin-password";

async function newPost(): Promise<string> {
  const slug = `vitest-${randomUUID().slice(0, 8)}`;
  await writePost({ slug, title: "Original title", body: "Original body." });
  return slug;
}

stubEnvForFile({
  ADMIN_PASSWORD: PASSWORD,
  ADMIN_SESSION_SECRET: "vitest-session-secret-0123456789abcdef",
  // As behind one proxy that appends the client's address, so each test below has its own bucket.
  TRUSTED_PROXY_COUNT: "1",
});

beforeEach(() => {
  vi.mocked(updateTag).mockClear();
  request.cookies.clear();
  // A unique client address per test: the comment limiter counts per address in the shared Redis.
  request.headers = new Headers({ "x-forwarded-for": randomIp() });
});

describe("editPostAction", () => {
  const edit = (slug: string) => form({ slug, title: "New title", body: "New body." });

  it("refuses a call without a session cookie and writes nothing", async () => {
    const slug = await newPost();
    const state = await editPostAction(idleState, edit(slug));
    expect(state.status).toBe("error");
    expect(state.message).toMatch(/not signed in/);
    expect((await readPost(slug))?.title).toBe("Original title");
    expect(updateTag).not.toHaveBeenCalled();
  });

  it("refuses a forged or expired session and writes nothing", async () => {
    const slug = await newPost();
    const forged = await signSessionToken(new TextEncoder().encode("f".repeat(32)), PASSWORD);
    request.cookies.set(SESSION_COOKIE, forged);
    expect((await editPostAction(idleState, edit(slug))).status).toBe("error");

    const expired = await signSessionToken(await sessionKey(), PASSWORD, new Date(Date.now() - 9 * 3600_000));
    request.cookies.set(SESSION_COOKIE, expired);
    expect((await editPostAction(idleState, edit(slug))).status).toBe("error");

    expect((await readPost(slug))?.title).toBe("Original title");
    expect(updateTag).not.toHaveBeenCalled();
  });

  it("with a valid session: writes, updates the post's tag and the list tag, redirects to the post", async () => {
    const slug = await newPost();
    await startAdminSession();
    expect(await redirectOf(editPostAction(idleState, edit(slug)))).toBe(`/posts/${slug}`);
    expect(await readPost(slug)).toMatchObject({ title: "New title", body: "New body." });
    expect(vi.mocked(updateTag).mock.calls).toEqual([[`post:${slug}`], ["posts"]]);
  });

  it("Save draft keeps the text beside the published post and invalidates nothing", async () => {
    const slug = await newPost();
    await startAdminSession();
    const state = await editPostAction(
      idleState,
      form({ slug, title: "Draft title", body: "Draft body.", intent: "draft" }),
    );
    expect(state).toMatchObject({ status: "success", message: expect.stringMatching(/Draft saved/) });
    expect(await readPost(slug)).toMatchObject({ title: "Original title" });
    expect(await readDraft(slug)).toMatchObject({ title: "Draft title", body: "Draft body." });
    expect(updateTag).not.toHaveBeenCalled();
  });

  it("Publish after a draft publishes the form's text and drops the draft", async () => {
    const slug = await newPost();
    await startAdminSession();
    await editPostAction(
      idleState,
      form({ slug, title: "Draft title", body: "Draft body.", intent: "draft" }),
    );
    const published = editPostAction(
      idleState,
      form({ slug, title: "Draft title", body: "Draft body.", intent: "publish" }),
    );
    expect(await redirectOf(published)).toBe(`/posts/${slug}`);
    expect(await readPost(slug)).toMatchObject({ title: "Draft title" });
    expect(await readDraft(slug)).toBeNull();
    expect(vi.mocked(updateTag).mock.calls).toEqual([[`post:${slug}`], ["posts"]]);
  });

  it("does not create a post that does not exist", async () => {
    await startAdminSession();
    const slug = `vitest-missing-${randomUUID().slice(0, 8)}`;
    expect((await editPostAction(idleState, edit(slug))).message).toMatch(/does not exist/);
    expect(await readPost(slug)).toBeNull();
    expect(updateTag).not.toHaveBeenCalled();
  });
});

describe("addCommentAction", () => {
  it("writes the comment and updates only that post's comments tag", async () => {
    const slug = await newPost();
    const state = await addCommentAction(idleState, form({ slug, name: " Ada ", text: "Hello\r\nthere" }));
    expect(state).toEqual({ status: "success", message: "Thanks! Your comment is posted." });
    expect((await readComments(slug)).map(({ name, text }) => ({ name, text }))).toEqual([
      { name: "Ada", text: "Hello\nthere" },
    ]);
    expect(vi.mocked(updateTag).mock.calls).toEqual([[`comments:${slug}`]]);
  });

  it("refuses a comment on a post that does not exist, writing nothing", async () => {
    const slug = `vitest-missing-${randomUUID().slice(0, 8)}`;
    const state = await addCommentAction(idleState, form({ slug, name: "Ada", text: "Hi" }));
    expect(state.message).toMatch(/does not exist/);
    expect(await readComments(slug)).toEqual([]);
    expect(updateTag).not.toHaveBeenCalled();
  });

  it("rate-limits per client address (RATE_LIMIT_COMMENTS, 5 a minute by default)", async () => {
    const slug = await newPost();
    const states = [];
    for (let i = 0; i < 6; i++) {
      states.push(await addCommentAction(idleState, form({ slug, name: "Ada", text: `Comment ${i}` })));
    }
    expect(states.slice(0, 5).every((s) => s.status === "success")).toBe(true);
    expect(states[5]).toMatchObject({ status: "error", values: { text: "Comment 5" } });
    expect(states[5]?.message).toMatch(/too fast\. Try again in \d+ minutes?\./);
    expect(await readComments(slug)).toHaveLength(5);
  });

  it("hands back what was typed when a field is invalid", async () => {
    const slug = await newPost();
    const state = await addCommentAction(idleState, form({ slug, name: "Ada", text: "bell\u0007" }));
    expect(state).toMatchObject({
      status: "error",
      fieldErrors: { text: "A comment contains control characters; remove them." },
      values: { slug, name: "Ada", text: "bell\u0007" },
    });
    expect(await readComments(slug)).toEqual([]);
  });
});
