/**
 * The one signer the CLIs and tests share: it refuses what the receiver would refuse later.
 */
import { spawnSync } from "node:child_process";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, test } from "vitest";
import { MintError, mintRevalidationToken, parseDuration } from "../../lib/revalidation/mint";
import { SCOPE_SHAPES } from "../../lib/tags";
import { testVocabulary } from "../setup/tag-vocabulary";
import { SECRET } from "./harness";

describe("mintRevalidationToken", () => {
  test("HS256 with aud, exp, iat, and only the claims asked for", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const token = await mintRevalidationToken({
      secret: SECRET,
      expiresInSeconds: 300,
      issuer: "cms",
      jti: "a-1",
      now,
    });
    expect(decodeProtectedHeader(token).alg).toBe("HS256");
    expect(decodeJwt(token)).toEqual({
      aud: "revalidate",
      iss: "cms",
      jti: "a-1",
      iat: 1893456000,
      exp: 1893456300,
    });
  });

  test.each([
    ["a missing secret", { secret: "" }, /not set/],
    ["a weak secret", { secret: "x".repeat(31) }, /32 bytes/],
    ["a bad jti", { jti: "has space" }, /jti/],
    ["a bad iss", { issuer: "a b" }, /iss/],
    ["an empty scope", { scope: [] }, /scope/],
    [
      "a scope typo",
      { scope: ["pots"] },
      new RegExp(
        `"pots" is not valid: use one of ${testVocabulary.scopeShapes.join(", ").replace(/[*]/g, "\\*")} \\(`,
      ),
    ],
    ["a free-form prefix (s*)", { scope: ["s*"] }, /"s\*" is not valid/],
    ["a prefix without its colon (post*)", { scope: ["post*"] }, /"post\*" is not valid/],
    ["an unknown prefix", { scope: ["page:*"] }, /"page:\*" is not valid/],
    ["no expiry", { expiresInSeconds: 0 }, /expiry/],
  ])("refuses %s", async (_, options, message) => {
    const mint = () =>
      mintRevalidationToken({
        secret: SECRET,
        expiresInSeconds: 60,
        issuer: "cms",
        vocabulary: testVocabulary,
        ...options,
      });
    await expect(mint()).rejects.toThrow(message);
    await expect(mint()).rejects.toBeInstanceOf(MintError);
  });

  test("accepts prefix patterns and exact tags in a scope", async () => {
    const token = await mintRevalidationToken({
      secret: SECRET,
      expiresInSeconds: 60,
      issuer: "cms",
      scope: ["post:*", "posts", "*", "comments:*", "post:hello-world"],
      vocabulary: testVocabulary,
    });
    expect(decodeJwt(token).scope).toEqual(["post:*", "posts", "*", "comments:*", "post:hello-world"]);
  });
});

test("the token CLI refuses a scope such as s*, listing the valid patterns", () => {
  const result = spawnSync("npx", ["tsx", "scripts/token.ts", "--iss", "cms", "--scope", "s*"], {
    env: { ...process.env, REVALIDATION_SECRET: SECRET },
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(result.status).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain(`Scope pattern "s*" is not valid: use one of ${SCOPE_SHAPES.join(", ")}`);
  expect(result.stderr).not.toContain(SECRET);
}, 60_000);

test("parseDuration", () => {
  expect(parseDuration("90s")).toBe(90);
  expect(parseDuration("5m")).toBe(300);
  expect(parseDuration("12h")).toBe(43_200);
  expect(parseDuration("365d")).toBe(31_536_000);
  expect(parseDuration("1y")).toBe(31_536_000);
  expect(() => parseDuration("soon")).toThrow(/duration/);
  expect(() => parseDuration("5 weeks")).toThrow(MintError);
});
