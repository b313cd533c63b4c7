/**
 * Attacks on the token and the claims the contract requires. Each bad token must be a 401 with
 * `error="invalid_token"` that revalidates nothing.
 */
import { base64url, SignJWT } from "jose";
import { describe, expect, test } from "vitest";
import { MAX_TOKEN_LENGTH, warnIfPreviousSecretExpired } from "../../lib/revalidation/token";
import { testVocabulary } from "../setup/tag-vocabulary";
import { AUDIENCE, createHarness, PREVIOUS_SECRET, SECRET } from "./harness";

const key = (secret: string) => new TextEncoder().encode(secret);
const nowSeconds = () => Math.floor(Date.now() / 1000);

function encodeSegment(value: object): string {
  return base64url.encode(JSON.stringify(value));
}

async function expectRejected(token: string, messagePart?: string | RegExp): Promise<void> {
  const h = createHarness();
  const { response, json } = await h.send({ token, body: { tags: ["posts"] } });
  expect(response.status).toBe(401);
  expect(json.error?.code).toBe("unauthorized");
  expect(response.headers.get("www-authenticate")).toContain('error="invalid_token"');
  if (messagePart) expect(json.error?.message).toMatch(messagePart);
  expect(h.revalidated).toEqual([]);
}

async function expectAccepted(token: string): Promise<void> {
  const h = createHarness();
  const { response, json } = await h.send({ token, body: { tags: ["posts"] } });
  expect(response.status, JSON.stringify(json)).toBe(200);
  expect(h.revalidated).toEqual([{ tag: "posts", profile: "max" }]);
}

describe("rejected", () => {
  test("alg none (unsigned)", async () => {
    const token = `${encodeSegment({ alg: "none", typ: "JWT" })}.${encodeSegment({ aud: AUDIENCE, exp: nowSeconds() + 300 })}.`;
    await expectRejected(token, /HS256/);
  });

  test("HS512 with the right secret", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS512" })
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(key(SECRET));
    await expectRejected(token, /HS256/);
  });

  test("signed with the wrong key", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(key("a-completely-different-secret-of-32-bytes-or-more"));
    await expectRejected(token, /signature/);
  });

  test("tampered payload (scope widened after signing)", async () => {
    const h = createHarness();
    const genuine = await h.token({ scope: ["post:*"] });
    const [header, payload, signature] = genuine.split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload ?? ""))) as Record<
      string,
      unknown
    >;
    const forged = `${header}.${encodeSegment({ ...claims, scope: ["*"] })}.${signature}`;
    await expectRejected(forged, /signature/);
  });

  test("expired beyond the 30 s tolerance, saying when", async () => {
    const exp = nowSeconds() - 120;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setAudience(AUDIENCE)
      .setIssuedAt(exp - 300)
      .setExpirationTime(exp)
      .sign(key(SECRET));
    await expectRejected(
      token,
      new RegExp(`expired at ${new Date(exp * 1000).toISOString().replace(/\./g, "\\.")}`),
    );
  });

  test("nbf in the future beyond the tolerance", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setAudience(AUDIENCE)
      .setNotBefore(nowSeconds() + 120)
      .setExpirationTime(nowSeconds() + 600)
      .sign(key(SECRET));
    await expectRejected(token, /not valid before/);
  });

  test("wrong aud", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setAudience("another-service")
      .setExpirationTime("5m")
      .sign(key(SECRET));
    await expectRejected(token, /aud/);
  });

  test("missing aud", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m")
      .sign(key(SECRET));
    await expectRejected(token, /no `aud`/);
  });

  test("missing exp", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setAudience(AUDIENCE)
      .sign(key(SECRET));
    await expectRejected(token, /exp/);
  });

  test("a scope that is not an array of patterns", async () => {
    const token = await new SignJWT({ scope: "posts" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("cms")
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(key(SECRET));
    await expectRejected(token, /scope/);
  });

  test("no iss: refused, saying how to mint a token with one", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(key(SECRET));
    await expectRejected(token, /no `iss` claim.*npm run token -- --iss <sender>/);
  });

  test.each([["s*"], ["post*"], ["p*st:*"], ["page:*"], ["pots"], ["post:bad slug"]])(
    "a scope pattern that is not *, a known tag or <known prefix>:* (%s): 401 saying why",
    async (pattern) => {
      const token = await new SignJWT({ scope: ["posts", pattern] })
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("cms")
        .setAudience(AUDIENCE)
        .setExpirationTime("5m")
        .sign(key(SECRET));
      await expectRejected(
        token,
        new RegExp(
          `scope.*${escapeRegExp(JSON.stringify(pattern))} is not valid: use one of ${escapeRegExp(testVocabulary.scopeShapes.join(", "))} \\(`,
        ),
      );
    },
  );

  test("an over-long token is refused before verifying", async () => {
    await expectRejected("a".repeat(MAX_TOKEN_LENGTH + 1), /longer than/);
  });
});

describe("accepted", () => {
  test("a token signed with REVALIDATION_SECRET_PREVIOUS (rotation)", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("cms")
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(key(PREVIOUS_SECRET));
    await expectAccepted(token);
  });

  test("expired within the 30 s clock tolerance", async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("cms")
      .setAudience(AUDIENCE)
      .setExpirationTime(nowSeconds() - 10)
      .sign(key(SECRET));
    await expectAccepted(token);
  });

  test("a scope that covers every tag", async () => {
    const h = createHarness();
    const token = await h.token({ scope: ["post:*", "posts"] });
    const { response } = await h.send({ token, body: { tags: ["posts", "post:a", "post:b"] } });
    expect(response.status).toBe(200);
    expect(h.revalidated.map((r) => r.tag)).toEqual(["posts", "post:a", "post:b"]);
  });
});

describe("the previous secret's end date (REVALIDATION_SECRET_PREVIOUS_EXPIRES)", () => {
  const signedWithPrevious = () =>
    new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("cms")
      .setAudience(AUDIENCE)
      .setExpirationTime("5m")
      .sign(key(PREVIOUS_SECRET));

  test("before it, the previous secret still verifies", async () => {
    const h = createHarness({
      deps: {
        config: () => ({
          secrets: [SECRET, PREVIOUS_SECRET],
          audience: AUDIENCE,
          idTtlSeconds: 3600,
          previousSecretExpiresAt: new Date(Date.now() + 3600_000),
        }),
      },
    });
    expect(
      (await h.send({ token: await signedWithPrevious(), body: { tags: ["posts"] } })).response.status,
    ).toBe(200);
  });

  test("after it, a token signed with it is a 401 that says so; the current secret still works", async () => {
    const end = new Date(Date.now() - 1000);
    const h = createHarness({
      deps: {
        config: () => ({
          secrets: [SECRET, PREVIOUS_SECRET],
          audience: AUDIENCE,
          idTtlSeconds: 3600,
          previousSecretExpiresAt: end,
        }),
      },
    });
    const { response, json } = await h.send({ token: await signedWithPrevious(), body: { tags: ["posts"] } });
    expect(response.status).toBe(401);
    expect(json.error?.message).toContain(
      `previous secret, which stopped being accepted at ${end.toISOString()}`,
    );
    expect((await h.send({ body: { tags: ["posts"] } })).response.status).toBe(200);
  });

  test("a token verified before is checked against the clock on every request: past its exp, or the previous secret's end, it is refused with why", async () => {
    let now = Date.now();
    const end = new Date(now + 60_000);
    const h = createHarness({
      deps: {
        now: () => new Date(now),
        config: () => ({
          secrets: [SECRET, PREVIOUS_SECRET],
          audience: AUDIENCE,
          idTtlSeconds: 3600,
          previousSecretExpiresAt: end,
        }),
      },
    });
    const previous = await signedWithPrevious();
    const current = await h.token({ expiresInSeconds: 120 });
    for (const token of [previous, current]) {
      for (let i = 0; i < 2; i++)
        expect((await h.send({ token, body: { tags: ["posts"] } })).response.status).toBe(200);
    }
    now = end.getTime() + 1000;
    const late = await h.send({ token: previous, body: { tags: ["posts"] } });
    expect(late.response.status).toBe(401);
    expect(late.json.error?.message).toContain("stopped being accepted");
    expect((await h.send({ token: current, body: { tags: ["posts"] } })).response.status).toBe(200);
    now += 120_000; // past exp and the 30 s tolerance
    const expired = await h.send({ token: current, body: { tags: ["posts"] } });
    expect(expired.response.status).toBe(401);
    expect(expired.json.error?.message).toMatch(/expired/);
  });

  test("the app warns once it is past, and only once", () => {
    const lines: string[] = [];
    const config = { secrets: [SECRET, PREVIOUS_SECRET], audience: AUDIENCE };
    const end = new Date("2030-01-01T00:00:00Z");
    const log = (line: string) => lines.push(line);
    expect(
      warnIfPreviousSecretExpired(
        { ...config, previousSecretExpiresAt: end },
        new Date("2029-12-31T00:00:00Z"),
        log,
      ),
    ).toBeUndefined();
    expect(
      warnIfPreviousSecretExpired(
        { ...config, previousSecretExpiresAt: end },
        new Date("2030-01-02T00:00:00Z"),
        log,
      ),
    ).toMatch(/REVALIDATION_SECRET_PREVIOUS stopped being accepted at 2030-01-01T00:00:00.000Z/);
    warnIfPreviousSecretExpired(
      { ...config, previousSecretExpiresAt: end },
      new Date("2030-01-03T00:00:00Z"),
      log,
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
