/**
 * Input bounds (size, tags, JSON shape, content type) and the revalidation ID: its sources, their
 * precedence and its namespacing by `iss`.
 */
import { describe, expect, test } from "vitest";
import { createHarness, unique } from "./harness";

describe("bounds", () => {
  test("a 33 KiB body is a 413", async () => {
    const h = createHarness();
    const { response } = await h.send({
      rawBody: JSON.stringify({ tags: ["posts"], id: "x".repeat(33 * 1024) }),
    });
    expect(response.status).toBe(413);
  });

  test("a chunked body without Content-Length is cut at 32 KiB as it streams", async () => {
    const h = createHarness();
    let pulled = 0;
    const chunk = new TextEncoder().encode(`"${"x".repeat(1022)}",`);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        // An endless body: only a reader that stops at the cap can answer.
        controller.enqueue(chunk);
      },
    });
    const { response, json } = await h.send({ rawBody: stream });
    expect(response.status).toBe(413);
    expect(json.error?.code).toBe("payload_too_large");
    expect(pulled).toBeLessThan(40);
  });

  test("a body of exactly 32 KiB is read", async () => {
    const h = createHarness();
    const base = JSON.stringify({ tags: ["posts"], id: "" });
    const body = JSON.stringify({ tags: ["posts"], id: "x".repeat(32 * 1024 - base.length) });
    expect(new TextEncoder().encode(body).byteLength).toBe(32 * 1024);
    const { response, json } = await h.send({ rawBody: body });
    // Read in full, then refused for its ID, not its size.
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_id");
  });

  test("65 tags is a 400, 64 is fine", async () => {
    const h = createHarness();
    const tags = Array.from({ length: 65 }, (_, i) => `post:p${i}`);
    const tooMany = await h.send({ body: { tags } });
    expect(tooMany.response.status).toBe(400);
    expect(tooMany.json.error?.code).toBe("invalid_body");
    expect(tooMany.json.error?.message).toContain("64");
    const enough = await h.send({ body: { tags: tags.slice(0, 64) } });
    expect(enough.response.status).toBe(200);
    expect(h.revalidated).toHaveLength(64);
  });

  test("no tags is a 400", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { tags: [] } });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_body");
  });

  test("a 257-character tag is a 400", async () => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { tags: [`post:${"a".repeat(252)}`] } });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_body");
    expect(json.error?.issues?.[0]?.path).toBe("tags.0");
  });

  test.each([
    ["a comma", "post:a,b"],
    ["non-ASCII", "post:héllo"],
    ["an unknown shape", "article:hello"],
    ["an empty tag", ""],
    ["a prefix without a slug", "post:"],
  ])("%s is an unknown_tag", async (_, tag) => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { tags: ["posts", tag] } });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("unknown_tag");
    expect(json.error?.message).toContain("post:<slug>");
    expect(h.revalidated).toEqual([]);
  });

  test("repeated tags count once", async () => {
    const h = createHarness();
    const { json } = await h.send({ body: { tags: ["posts", "post:a", "posts", "post:a"] } });
    expect(json.tags).toEqual(["posts", "post:a"]);
    expect(h.revalidated.map((r) => r.tag)).toEqual(["posts", "post:a"]);
  });

  test.each([
    ["tags as a string", { tags: "posts" }],
    ["a number among the tags", { tags: ["posts", 1] }],
    ["id as a number", { id: 42, tags: ["posts"] }],
    ["dryRun as a string", { tags: ["posts"], dryRun: "yes" }],
    ["an unknown key", { tags: ["posts"], tag: "post:a" }],
    ["an array body", [{ tags: ["posts"] }]],
    ["null", null],
  ])("wrong JSON types: %s", async (_, body) => {
    const h = createHarness();
    const { response, json } = await h.send({ body });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_body");
    expect(json.error?.issues?.length).toBeGreaterThan(0);
  });

  test("an unknown key is named in the message", async () => {
    const h = createHarness();
    const { json } = await h.send({ body: { tags: ["posts"], ids: ["x"] } });
    expect(json.error?.message).toContain('"ids"');
  });

  test("an error body echoes at most three unknown keys, each cut short", async () => {
    const h = createHarness();
    const body: Record<string, unknown> = { tags: ["posts"] };
    const marker = `k${"x".repeat(100)}`;
    for (let i = 0; i < 200; i++) body[`${marker}${i}`] = i;
    const { response, json } = await h.send({ body });
    expect(response.status).toBe(400);
    const text = JSON.stringify(json);
    expect(text).toContain("and 197 more");
    expect(text).not.toContain(`${marker}3"`);
    expect(text.length).toBeLessThan(2000);
  });

  test("deeply nested JSON is refused cleanly", async () => {
    const h = createHarness();
    const depth = 10_000;
    const { response, json } = await h.send({ rawBody: `{"tags":${"[".repeat(depth)}${"]".repeat(depth)}}` });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_json");
    expect(json.error?.message).toContain("nested");
  });

  test("brackets inside strings do not count as nesting", async () => {
    const h = createHarness();
    const { json } = await h.send({ rawBody: `{"tags":["posts"],"id":"${"[{".repeat(50)}\\""}` });
    // Parsed, then refused for its ID characters, not as too deeply nested.
    expect(json.error?.code).toBe("invalid_id");
  });

  test("invalid UTF-8 is invalid_json", async () => {
    const h = createHarness();
    const bytes = new Uint8Array([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const { response, json } = await h.send({ rawBody: bytes });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_json");
  });

  test.each([["text/plain"], ["application/x-www-form-urlencoded"], ["application/json; charset=latin1"]])(
    "Content-Type %s is a 415",
    async (type) => {
      const h = createHarness();
      const { response } = await h.send({ headers: { "content-type": type }, body: { tags: ["posts"] } });
      expect(response.status).toBe(415);
    },
  );

  test("Content-Type application/json; charset=utf-8 is accepted", async () => {
    const h = createHarness();
    const { response } = await h.send({
      headers: { "content-type": "application/json; charset=UTF-8" },
      body: { tags: ["posts"] },
    });
    expect(response.status).toBe(200);
  });
});

describe("revalidation ID", () => {
  const sources = {
    body: (id: string) => ({ body: { id, tags: ["posts"] } }),
    jti: (id: string) => ({ jti: id }),
    "idempotency-key": (id: string) => ({ headers: { "idempotency-key": id } }),
    "x-revalidation-id": (id: string) => ({ headers: { "x-revalidation-id": id } }),
    "webhook-id": (id: string) => ({ headers: { "webhook-id": id } }),
  } as const;

  test.each(Object.keys(sources) as (keyof typeof sources)[])("from %s alone", async (source) => {
    const h = createHarness();
    const id = unique(`from-${source}`);
    const spec = sources[source](id) as { body?: object; jti?: string; headers?: Record<string, string> };
    const token = await h.token(spec.jti ? { jti: spec.jti } : {});
    const first = await h.send({ token, body: spec.body ?? { tags: ["posts"] }, headers: spec.headers });
    expect(first.json).toMatchObject({ status: "revalidated", id, deduplicated: true });
    await h.settle();
    expect(h.lines.at(-1)?.idSource).toBe(source);
    const again = await h.send({ token, body: spec.body ?? { tags: ["posts"] }, headers: spec.headers });
    expect(again.json).toMatchObject({ status: "duplicate", id });
  });

  test("precedence: body id, then jti, then Idempotency-Key, then X-Revalidation-Id, then webhook-id", async () => {
    const h = createHarness();
    const ids = {
      body: unique("b"),
      jti: unique("j"),
      idem: unique("i"),
      xrev: unique("x"),
      hook: unique("w"),
    };
    const headers = { "idempotency-key": ids.idem, "x-revalidation-id": ids.xrev, "webhook-id": ids.hook };
    const withJti = await h.token({ jti: ids.jti });
    const plain = await h.token();
    const cases: [string, Awaited<ReturnType<typeof h.send>>][] = [
      [ids.body, await h.send({ token: withJti, headers, body: { id: ids.body, tags: ["posts"] } })],
      [ids.jti, await h.send({ token: withJti, headers, body: { tags: ["posts"] } })],
      [ids.idem, await h.send({ token: plain, headers, body: { tags: ["posts"] } })],
      [
        ids.xrev,
        await h.send({
          token: plain,
          headers: { "webhook-id": ids.hook, "x-revalidation-id": ids.xrev },
          body: { tags: ["posts"] },
        }),
      ],
      [
        ids.hook,
        await h.send({ token: plain, headers: { "webhook-id": ids.hook }, body: { tags: ["posts"] } }),
      ],
    ];
    for (const [expected, { json }] of cases) expect(json.id).toBe(expected);
  });

  test("the first source present decides, even when it is invalid", async () => {
    const h = createHarness();
    const { response, json } = await h.send({
      headers: { "idempotency-key": "has spaces", "webhook-id": unique("w") },
      body: { tags: ["posts"] },
    });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_id");
    expect(json.error?.message).toContain("idempotency-key");
  });

  test("a quoted Idempotency-Key (structured-field string) is unquoted", async () => {
    const h = createHarness();
    const id = unique("quoted");
    const { json } = await h.send({ headers: { "idempotency-key": `"${id}"` }, body: { tags: ["posts"] } });
    expect(json.id).toBe(id);
  });

  test.each([
    ["201 characters", "a".repeat(201)],
    ["a space", "post 42"],
    ["non-ASCII", "pöst-42"],
    ["empty", ""],
    ["a comma", "a,b"],
  ])("an ID with %s is invalid_id", async (_, id) => {
    const h = createHarness();
    const { response, json } = await h.send({ body: { id, tags: ["posts"] } });
    expect(response.status).toBe(400);
    expect(json.error?.code).toBe("invalid_id");
  });

  test("every allowed character, at 200 characters", async () => {
    const h = createHarness();
    const chars = "AZaz09._:@/+=-";
    const id = `${crypto.randomUUID()}${chars}`.padEnd(200, "x");
    const { json } = await h.send({ body: { id, tags: ["posts"] } });
    expect(json).toMatchObject({ status: "revalidated", id });
  });

  test("IDs are namespaced by iss: two senders' same ID are both processed", async () => {
    const a = createHarness();
    const b = createHarness();
    const id = unique("shared");
    expect((await a.send({ body: { id, tags: ["posts"] } })).json.status).toBe("revalidated");
    await a.settle();
    expect((await b.send({ body: { id, tags: ["posts"] } })).json.status).toBe("revalidated");
    expect((await a.send({ body: { id, tags: ["posts"] } })).json.status).toBe("duplicate");
  });

  test("no ID: processed, not de-duplicated, and the answer says so", async () => {
    const h = createHarness();
    const first = await h.send({ body: { tags: ["posts"] } });
    const second = await h.send({ body: { tags: ["posts"] } });
    for (const { json } of [first, second]) {
      expect(json).toMatchObject({ status: "revalidated", id: null, deduplicated: false });
      expect(json.warning).toContain("No revalidation ID");
    }
    expect(h.revalidated).toHaveLength(2);
  });
});
