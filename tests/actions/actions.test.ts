/**
 * The actions themselves, called as functions against the real Redis (local endpoint).
 *
 * Mocked, because they only exist inside a Next.js request: `updateTag` (and the cacheTag/cacheLife
 * calls lib/posts.ts makes), `cookies()` and `headers()`. `redirect()` is the real one: it throws an
 * error whose digest starts with NEXT_REDIRECT, which is what Next.js catches.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import type { ActionLogLine } from "@/lib/actions";

const request = vi.hoisted(() => ({
  cookies: new Map<string, string>(),
  headers: new Headers(),
}));

vi.mock("next/headers", () => ({
  cookies: async () => ({
    get: (name: string) =>
      request.cookies.has(name) ? { name, value: request.cookies.get(name) } : undefined,
    // maxAge 0 is how a cookie is expired (lib/session.ts does so to keep the __Host- attributes).
    set: (name: string, value: string, options?: { maxAge?: number }) =>
      void (options?.maxAge === 0 ? request.cookies.delete(name) : request.cookies.set(name, value)),
    delete: (name: string) => void request.cookies.delete(name),
  }),
  headers: async () => request.headers,
}));

vi.mock("next/cache", () => ({ updateTag: vi.fn(), cacheTag: vi.fn(), cacheLife: vi.fn() }));

const { updateTag } = await import("next/cache");
const { redirect } = await import("next/navigation");
const { ActionError, defineAction } = await import("@/lib/actions");
const { initialState } = await import("@/lib/action-state");
const idleState = initialState<never>();
const { adminEnv, rateLimitEnv } = await import("@/lib/env");
const { readComments } = await import("@/lib/comments");
const { readDraft, readPost, writePost } = await import("@/lib/posts");
const { sessionCookieName, sessionKey, signSessionToken, startAdminSession } = await import("@/lib/session");
const SESSION_COOKIE = sessionCookieName();
const { addCommentAction, editPostAction } = await import("@/app/posts/[slug]/actions");

const PASSWORD = "vitest-admin-password";

function form(fields: Record<string, string>): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
}

/** Resolves to the redirect target when `promise` rejects with Next's redirect error. */
async function redirectOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const digest = (error as { digest?: string }).digest ?? "";
    if (digest.startsWith("NEXT_REDIRECT")) return digest.split(";")[2] ?? "";
    throw error;
  }
  throw new Error("expected a redirect");
}

async function newPost(): Promise<string> {
  const slug = `vitest-${randomUUID().slice(0, 8)}`;
  await writePost({ slug, title: "Original title", body: "Original body." });
  return slug;
}

beforeAll(() => {
  vi.stubEnv("ADMIN_PASSWORD", PASSWORD);
  vi.stubEnv("ADMIN_SESSION_SECRET", "vitest-session-secret-0123456789abcdef");
  // As behind one proxy that appends the client's address, so each test below has its own bucket.
  vi.stubEnv("TRUSTED_PROXY_COUNT", "1");
  adminEnv.reset();
  rateLimitEnv.reset();
});

afterAll(() => {
  vi.unstubAllEnvs();
  adminEnv.reset();
  rateLimitEnv.reset();
});

beforeEach(() => {
  vi.mocked(updateTag).mockClear();
  request.cookies.clear();
  // A unique client address per test: the comment limiter counts per address in the shared Redis.
  request.headers = new Headers({
    "x-forwarded-for": `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
  });
});

describe("defineAction", () => {
  const schema = z.object({ name: z.string().trim().min(1, "Enter a name.") });
  /** Collects the log and hands out a known request ID, as `defineAction`'s second argument. */
  const recorder = () => {
    const lines: ActionLogLine[] = [];
    return {
      lines,
      deps: { requestId: () => "req-test-1", log: (line: ActionLogLine) => void lines.push(line) },
    };
  };

  it("parses first: invalid input reaches neither authorize nor mutate, and invalidates nothing", async () => {
    const authorize = vi.fn(async () => {});
    const mutate = vi.fn(async () => "written");
    const action = defineAction({ name: "test", schema, authorize, mutate, tags: () => ["posts"] });
    const state = await action(idleState, form({ name: "   " }));
    expect(state).toEqual({
      status: "error",
      message: "Some fields need attention: see the messages next to them.",
      fieldErrors: { name: "Enter a name." },
      values: { name: "   " },
    });
    expect(authorize).not.toHaveBeenCalled();
    expect(mutate).not.toHaveBeenCalled();
    expect(updateTag).not.toHaveBeenCalled();
  });

  it("an ActionError from authorize refuses before the write, with its message", async () => {
    const mutate = vi.fn(async () => "written");
    const action = defineAction({
      name: "test",
      schema,
      authorize: async () => {
        throw new ActionError("No.");
      },
      mutate,
      tags: () => ["posts"],
    });
    expect(await action(idleState, form({ name: "Ada" }))).toEqual({
      status: "error",
      message: "No.",
      values: { name: "Ada" },
    });
    expect(mutate).not.toHaveBeenCalled();
    expect(updateTag).not.toHaveBeenCalled();
  });

  it("an ActionError from mutate refuses the same way; with a field, it is that field's error", async () => {
    const refuse = (error: Error) =>
      defineAction({
        name: "test",
        schema,
        mutate: async () => {
          throw error;
        },
        tags: () => ["posts"],
      });
    expect(await refuse(new ActionError("Gone."))(idleState, form({ name: "Ada" }))).toEqual({
      status: "error",
      message: "Gone.",
      values: { name: "Ada" },
    });
    expect(
      await refuse(new ActionError("Taken.", { field: "name" }))(idleState, form({ name: "Ada" })),
    ).toEqual({
      status: "error",
      fieldErrors: { name: "Taken." },
      values: { name: "Ada" },
    });
    expect(updateTag).not.toHaveBeenCalled();
  });

  it.each([
    ["authorize", "nothing was saved"],
    ["mutate", "may not have been saved"],
    ["invalidate", "Your change was saved"],
    ["return", "Your change was saved"],
  ] as const)(
    "an unexpected error in %s becomes the generic message with a logged request ID, and nothing of the error reaches the form",
    async (step, says) => {
      const failure = new Error("connect ECONNREFUSED 10.0.0.7:6379 token=do-not-show");
      const fail = (at: string) => {
        if (at === step) throw failure;
      };
      const mutate = vi.fn(async () => fail("mutate"));
      const { lines, deps } = recorder();
      const action = defineAction(
        {
          name: "test-action",
          schema,
          authorize: async () => fail("authorize"),
          mutate,
          tags: () => {
            fail("invalidate");
            return ["posts"];
          },
          onSuccess: () => {
            fail("return");
            return { status: "success" };
          },
        },
        deps,
      );
      const state = await action(idleState, form({ name: "Ada" }));
      expect(state).toEqual({
        status: "error",
        message: expect.stringContaining("request req-test-1 in the logs"),
        values: { name: "Ada" },
      });
      expect(state.message).toContain(says);
      expect(JSON.stringify(state)).not.toMatch(/ECONNREFUSED|do-not-show/);
      expect(lines).toEqual([
        {
          msg: "server-action",
          level: "error",
          action: "test-action",
          step,
          requestId: "req-test-1",
          error: expect.stringContaining("ECONNREFUSED"),
        },
      ]);
      expect(mutate).toHaveBeenCalledTimes(step === "authorize" ? 0 : 1);
      if (step === "authorize" || step === "mutate") expect(updateTag).not.toHaveBeenCalled();
    },
  );

  it("redirect() is control flow, not a failure: it reaches Next.js, and nothing is logged", async () => {
    const { lines, deps } = recorder();
    const action = defineAction(
      { name: "test", schema, mutate: async () => {}, tags: () => [], onSuccess: () => redirect("/done") },
      deps,
    );
    expect(await redirectOf(action(idleState, form({ name: "Ada" })))).toBe("/done");
    expect(lines).toEqual([]);
  });

  it("never hands a secret field back, on any error", async () => {
    const secretSchema = z.object({ user: z.string(), password: z.string().min(12, "Too short.") });
    const action = defineAction({
      name: "test",
      schema: secretSchema,
      secret: ["password"],
      mutate: async () => {
        throw new ActionError("Wrong.", { field: "password" });
      },
      tags: () => [],
    });
    const short = await action(idleState, form({ user: "ada", password: "hunter2" }));
    expect(short).toMatchObject({ fieldErrors: { password: "Too short." }, values: { user: "ada" } });
    const wrong = await action(idleState, form({ user: "ada", password: "correct-horse-battery" }));
    expect(wrong).toEqual({ status: "error", fieldErrors: { password: "Wrong." }, values: { user: "ada" } });
    expect(JSON.stringify([short, wrong])).not.toMatch(/hunter2|correct-horse/);
  });

  it("invalidates the tags built from the parsed input after the write, then returns onSuccess", async () => {
    const order: string[] = [];
    vi.mocked(updateTag).mockImplementation((tag) => void order.push(`updateTag ${tag}`));
    const action = defineAction({
      name: "test",
      schema,
      mutate: async ({ name }) => {
        order.push(`write ${name}`);
        return name.length;
      },
      tags: ({ name }, length) => [`post:${name}`, `len:${length}`],
      onSuccess: () => ({ status: "success", message: "Saved." }),
    });
    expect(await action(idleState, form({ name: " Ada " }))).toEqual({
      status: "success",
      message: "Saved.",
    });
    expect(order).toEqual(["write Ada", "updateTag post:Ada", "updateTag len:3"]);
    vi.mocked(updateTag).mockReset();
  });
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
