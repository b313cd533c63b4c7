/**
 * lib/shared-tags/cache-handler.mjs: the handler Next calls for every invalidation in the process.
 * Loaded here as Next loads it, with a native import.
 */
import { afterEach, expect, test } from "vitest";
import { STATE_KEY } from "../../lib/shared-tags/runtime";

type Observer = {
  get: (key: string, softTags: string[]) => Promise<unknown>;
  updateTags: (tags: string[], durations?: { expire?: number }) => Promise<void>;
};

const HANDLER_URL = new URL("../../lib/shared-tags/cache-handler.mjs", import.meta.url).href;
const load = async (): Promise<Observer> =>
  ((await import(/* @vite-ignore */ HANDLER_URL)) as { default: Observer }).default;

afterEach(() => {
  Reflect.deleteProperty(globalThis, STATE_KEY);
});

test("forwards every updateTags call to the process's shared state, durations untouched", async () => {
  const calls: unknown[] = [];
  Reflect.set(globalThis, STATE_KEY, {
    invalidate: async (tags: string[], durations: unknown) => {
      calls.push([tags, durations]);
      return true;
    },
  });
  const handler = await load();
  await handler.updateTags(["post:a", "posts"], { expire: 31536000 });
  await handler.updateTags(["comments:a"]);
  expect(calls).toEqual([
    [["post:a", "posts"], { expire: 31536000 }],
    [["comments:a"], undefined],
  ]);
});

test("stores nothing, and does nothing (without throwing) where the layer is not running", async () => {
  const handler = await load();
  expect(await handler.get("key", [])).toBeUndefined();
  await expect(handler.updateTags(["posts"], { expire: 1 })).resolves.toBeUndefined();
});

test("reads the same registered symbol that lib/shared-tags/runtime.ts sets", async () => {
  const source = await import("node:fs").then((fs) => fs.readFileSync(new URL(HANDLER_URL), "utf8"));
  expect(STATE_KEY.description).toBe("fresh-pages.shared-tags");
  expect(source).toContain(`Symbol.for("${STATE_KEY.description}")`);
});
