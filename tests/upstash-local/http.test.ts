/** The wire protocol itself, with fetch: status codes, error bodies and response encodings. */
import { describe, expect, it } from "vitest";
import { ENGINES, post, uniquePrefix, useEndpoint } from "./helpers";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

describe.each(ENGINES)("the REST protocol on the %s engine", (engine) => {
  const endpoint = useEndpoint(engine);

  it("answers 401 Unauthorized for a wrong or missing token, on every route", async () => {
    for (const token of ["wrong", null]) {
      for (const path of ["/", "/pipeline", "/multi-exec", "/get/k", "/_local/stats/reset"]) {
        const res = await post(endpoint(), path, ["GET", "k"], { token });
        expect({ path, ...res }).toEqual({ path, status: 401, body: { error: "Unauthorized" } });
      }
    }
    const stats = await fetch(`${endpoint().url}/_local/stats`);
    expect(stats.status).toBe(401);
  });

  it("answers a failed single command with 400 and Redis's error text verbatim", async () => {
    const key = `${uniquePrefix()}s`;
    expect(await post(endpoint(), "/", ["SET", key, "v"])).toEqual({ status: 200, body: { result: "OK" } });
    expect(await post(endpoint(), "/", ["LPUSH", key, "x"])).toEqual({
      status: 400,
      body: { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
    });
    const unknown = await post(endpoint(), "/", ["NOTACOMMAND", "a"]);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({
      error: expect.stringMatching(/^ERR NOTACOMMAND is not allowed by the local Upstash endpoint/),
    });
  });

  it("answers a transaction with a refused command with a non-2xx error and applies none of it", async () => {
    const key = `${uniquePrefix()}tx`;
    const res = await post(endpoint(), "/multi-exec", [["SET", key, "1"], ["NOTACOMMAND"]]);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.body).toEqual({ error: expect.stringMatching(/^ERR NOTACOMMAND is not allowed/) });
    expect(await post(endpoint(), "/", ["GET", key])).toEqual({ status: 200, body: { result: null } });
  });

  it("answers pipeline and transaction items as {result} / {error}", async () => {
    const key = `${uniquePrefix()}p`;
    const pipeline = await post(endpoint(), "/pipeline", [
      ["SET", key, "v"],
      ["LPUSH", key, "x"],
      ["GET", key],
    ]);
    expect(pipeline).toEqual({
      status: 200,
      body: [
        { result: "OK" },
        { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
        { result: "v" },
      ],
    });
    const tx = await post(endpoint(), "/multi-exec", [
      ["INCR", `${key}:n`],
      ["INCR", `${key}:n`],
    ]);
    expect(tx).toEqual({ status: 200, body: [{ result: 1 }, { result: 2 }] });
  });

  it("base64-encodes every string result only when asked, keeping numbers, nil and a top-level OK", async () => {
    const prefix = uniquePrefix();
    const text = "Grüße 😀";
    expect(await post(endpoint(), "/", ["SET", `${prefix}t`, text], { base64: true })).toEqual({
      status: 200,
      body: { result: "OK" },
    });
    expect(await post(endpoint(), "/", ["GET", `${prefix}t`], { base64: true })).toEqual({
      status: 200,
      body: { result: b64(text) },
    });
    expect(await post(endpoint(), "/", ["GET", `${prefix}t`])).toEqual({
      status: 200,
      body: { result: text },
    });

    await post(endpoint(), "/", ["RPUSH", `${prefix}l`, "a", "OK", "12"]);
    expect(await post(endpoint(), "/", ["LRANGE", `${prefix}l`, 0, -1], { base64: true })).toEqual({
      status: 200,
      body: { result: [b64("a"), b64("OK"), b64("12")] },
    });
    expect(await post(endpoint(), "/", ["LRANGE", `${prefix}l`, 0, -1])).toEqual({
      status: 200,
      body: { result: ["a", "OK", "12"] },
    });

    const pipeline = await post(
      endpoint(),
      "/pipeline",
      [
        ["INCR", `${prefix}n`],
        ["GET", `${prefix}missing`],
        ["TYPE", `${prefix}l`],
        ["LPUSH", `${prefix}t`, "x"],
      ],
      { base64: true },
    );
    expect(pipeline.body).toEqual([
      { result: 1 },
      { result: null },
      // A status reply other than OK is encoded like any string.
      { result: b64("list") },
      { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
    ]);
  });

  it("turns JSON numbers and booleans into Redis strings", async () => {
    const key = `${uniquePrefix()}args`;
    await post(endpoint(), "/", ["RPUSH", key, 1, 2.5, true, false]);
    expect((await post(endpoint(), "/", ["LRANGE", key, 0, -1])).body).toEqual({
      result: ["1", "2.5", "true", "false"],
    });
  });

  it("never answers a JSON boolean", async () => {
    const res = await post(endpoint(), "/pipeline", [
      ["EVAL", "return true", 0],
      ["EVAL", "return false", 0],
      ["EVAL", "return {1, true, 'x'}", 0],
    ]);
    expect(res.body).toEqual([{ result: 1 }, { result: null }, { result: [1, 1, "x"] }]);
  });

  it("rejects malformed bodies with 400 and a clear error", async () => {
    const badJson = await post(endpoint(), "/", "{not json", { raw: true });
    expect(badJson).toEqual({ status: 400, body: { error: expect.stringContaining("not valid JSON") } });
    for (const [path, body] of [
      ["/", {}],
      ["/", []],
      ["/", [["GET", "k"]]],
      ["/", ["GET", null]],
      ["/pipeline", ["GET", "k"]],
      ["/pipeline", []],
      ["/multi-exec", [[]]],
    ] as const) {
      const res = await post(endpoint(), path, body);
      expect({ path, body, status: res.status }).toEqual({ path, body, status: 400 });
      expect(res.body).toEqual({ error: expect.stringMatching(/^ERR .*JSON array/) });
    }
  });

  it("refuses a body over 10 MiB with 413", async () => {
    const huge = JSON.stringify(["SET", `${uniquePrefix()}big`, "x".repeat(10 * 1024 * 1024)]);
    const res = await fetch(`${endpoint().url}/`, {
      method: "POST",
      headers: { authorization: `Bearer ${endpoint().token}` },
      body: huge,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: expect.stringContaining("larger than") });
  });

  it("accepts the path form: POST /set/key/value and GET /get/key", async () => {
    const key = `${uniquePrefix()}path/ü`;
    const set = await fetch(`${endpoint().url}/set/${encodeURIComponent(key)}/v1`, {
      method: "POST",
      headers: { authorization: `Bearer ${endpoint().token}` },
    });
    expect(await set.json()).toEqual({ result: "OK" });
    const get = await fetch(`${endpoint().url}/get/${encodeURIComponent(key)}`, {
      headers: { authorization: `Bearer ${endpoint().token}` },
    });
    expect(await get.json()).toEqual({ result: "v1" });
    const withBody = await fetch(`${endpoint().url}/set/${encodeURIComponent(key)}`, {
      method: "POST",
      headers: { authorization: `Bearer ${endpoint().token}` },
      body: "from the body",
    });
    expect(withBody.status).toBe(200);
    expect((await post(endpoint(), "/", ["GET", key])).body).toEqual({ result: "from the body" });
  });

  it("refuses commands that would block or re-state the shared connection", async () => {
    for (const command of [["SUBSCRIBE", "ch"], ["MULTI"], ["BLPOP", "k", 1], ["SELECT", 1]]) {
      const res = await post(endpoint(), "/", command);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: expect.stringContaining("not supported by the local Upstash endpoint"),
      });
    }
  });

  it.skipIf(engine === "in-process")(
    "reports Lua errors with Redis's text",
    // ioredis-mock runs Lua in fengari and words its errors differently ("Error trying to loading or
    // executing lua code string in VM: ..."), and has no redis.error_reply.
    async () => {
      const res = await post(endpoint(), "/", ["EVAL", "return redis.error_reply('boom')", 0]);
      expect(res).toEqual({ status: 400, body: { error: "ERR boom" } });
      const syntax = await post(endpoint(), "/", ["EVAL", "return (", 0]);
      expect(syntax.status).toBe(400);
      expect(syntax.body).toEqual({ error: expect.stringMatching(/^ERR Error compiling script/) });
    },
  );

  it.skipIf(engine === "in-process")(
    "checks arity like Redis",
    // ioredis-mock does not validate argument counts: `GET a b` answers the value of `a`.
    async () => {
      expect(await post(endpoint(), "/", ["GET", "a", "b"])).toEqual({
        status: 400,
        body: { error: "ERR wrong number of arguments for 'get' command" },
      });
    },
  );
});
