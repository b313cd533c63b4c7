/** Path-only bodies are answered with the tags to send instead, through the real receiver. */
import { describe, expect, test } from "vitest";
import { suggestTagsForPath } from "../../lib/revalidation/paths";
import { testVocabulary } from "../setup/tag-vocabulary";
import { createHarness } from "./harness";

describe("a body that asks for paths gets 400 path_not_supported, and nothing is revalidated", () => {
  test.each([
    [{ type: "path", value: "/posts/hello-world" }, '{ "tags": ["post:hello-world"] }'],
    [{ path: "/" }, '{ "tags": ["posts"] }'],
    [{ paths: ["/posts/a", "/feed.xml"] }, '{ "tags": ["post:a","posts"] }'],
  ])("%j", async (body, advice) => {
    const h = createHarness();
    const { response, json } = await h.send({ body });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("path_not_supported");
    expect(json.error?.message).toContain(`send ${advice} instead`);
    expect(h.revalidated).toEqual([]);
  });

  test("an unknown or hostile path is not echoed, and the advice is generic", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { type: "path", value: "/<script>alert(1)</script>" } });
    expect(response.status).toBe(400);
    expect(json.error?.message).not.toContain("<script>");
    expect(json.error?.message).toContain("known tag shapes: site, posts, post:<slug>");
  });

  test("a body with tags is never treated as a path body", async () => {
    const h = createHarness();
    const { response } = await h.send({ body: { tags: ["posts"], path: "/" } });
    // An unknown key is still a 400, but the strict schema's invalid_body, naming the key.
    expect(response.status).toBe(400);
    expect((await h.send({ body: { tags: ["posts"] } })).response.status).toBe(200);
  });
});

test("suggestions are built with lib/tags.ts and refuse what is not a route", () => {
  expect(suggestTagsForPath("/posts/x.y-z", testVocabulary)).toEqual(["post:x.y-z"]);
  expect(suggestTagsForPath("/sitemap.xml", testVocabulary)).toEqual(["posts"]);
  for (const path of ["/posts/", "/posts/a/edit", "/admin", "/posts/../x", "posts/a"]) {
    expect(suggestTagsForPath(path, testVocabulary)).toBeUndefined();
  }
});
