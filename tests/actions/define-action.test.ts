/**
 * `defineAction`, the pattern every Server Action follows (lib/actions.ts), with actions made up
 * for the test: the order of the steps, the one way to refuse, and what an unexpected failure in
 * each step turns into. The blog's own actions are tested in post-actions.test.ts.
 *
 * Mocked, because it only exists inside a Next.js request: `updateTag`. `redirect()` is the real
 * one: it throws an error whose digest starts with NEXT_REDIRECT, which is what Next.js catches.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import type { ActionLogLine } from "@/lib/actions";
import { form, redirectOf } from "./helpers";

vi.mock("next/cache", () => ({ updateTag: vi.fn(), cacheTag: vi.fn(), cacheLife: vi.fn() }));

const { updateTag } = await import("next/cache");
const { redirect } = await import("next/navigation");
const { ActionError, defineAction } = await import("@/lib/actions");
const { initialState } = await import("@/lib/action-state");
const idleState = initialState<never>();

beforeEach(() => {
  vi.mocked(updateTag).mockClear();
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
