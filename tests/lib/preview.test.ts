/** Preview links (lib/preview.ts): signed, expiring, one audience and key of their own. */
import { describe, expect, test } from "vitest";
import {
  MAX_PREVIEW_SECONDS,
  mintPreviewToken,
  PREVIEW_AUDIENCE,
  PreviewLinkError,
  previewKey,
  previewUrl,
  verifyPreviewToken,
} from "@/lib/preview";
import { mintRevalidationToken } from "@/lib/revalidation/mint";

const SECRET = "preview-test-revalidation-secret-0123456789";
const key = previewKey({ previewSecret: undefined }, { secrets: [SECRET] });

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "accepted";
  } catch (error) {
    return error instanceof PreviewLinkError ? error.reason : "unexpected error";
  }
}

test("a minted link opens its post, and says when it stops working", async () => {
  const now = new Date("2026-11-29T10:00:00Z");
  const token = await mintPreviewToken({ key, slug: "hello-world", expiresInSeconds: 600, now });
  expect(await verifyPreviewToken(token, key, now)).toEqual({
    slug: "hello-world",
    expiresAt: new Date("2026-11-29T10:10:00Z"),
  });
  expect(previewUrl("https://example.com", token)).toBe(`https://example.com/api/preview?token=${token}`);
});

describe("refused links", () => {
  test("expired", async () => {
    const now = new Date("2026-11-29T10:00:00Z");
    const token = await mintPreviewToken({ key, slug: "a", expiresInSeconds: 60, now });
    expect(await reason(verifyPreviewToken(token, key, new Date("2026-11-29T10:05:00Z")))).toBe("expired");
  });

  test("tampered: another slug pasted into the payload", async () => {
    const token = await mintPreviewToken({ key, slug: "a" });
    const [header, payload, signature] = token.split(".");
    const altered = JSON.parse(Buffer.from(payload as string, "base64url").toString());
    altered.sub = "b";
    const forged = `${header}.${Buffer.from(JSON.stringify(altered)).toString("base64url")}.${signature}`;
    expect(await reason(verifyPreviewToken(forged, key))).toBe("invalid");
  });

  test("a webhook token, even signed with the same secret, opens no preview", async () => {
    const webhook = await mintRevalidationToken({ secret: SECRET, expiresInSeconds: 300, issuer: "cms" });
    expect(await reason(verifyPreviewToken(webhook, key))).toBe("invalid");
    expect(await reason(verifyPreviewToken(webhook, new TextEncoder().encode(SECRET)))).toBe("invalid");
  });

  test("missing, huge or garbage tokens", async () => {
    for (const token of [null, "", "x".repeat(5000), "a.b.c", "not a token"]) {
      expect(await reason(verifyPreviewToken(token, key))).toBe("invalid");
    }
  });
});

test("the key is PREVIEW_SECRET when set, else derived (never the webhook secret itself)", () => {
  const own = previewKey({ previewSecret: "p".repeat(32) }, { secrets: [SECRET] });
  expect(Buffer.from(own).toString()).toBe("p".repeat(32));
  expect(Buffer.from(key).equals(Buffer.from(SECRET))).toBe(false);
  expect(key.byteLength).toBe(32);
  expect(() => previewKey({ previewSecret: undefined }, { secrets: [] })).toThrow(/PREVIEW_SECRET/);
});

test("minting refuses a bad slug and lifetimes outside 1 s to 7 days", async () => {
  await expect(mintPreviewToken({ key, slug: "../admin" })).rejects.toThrow(/Invalid slug/);
  await expect(
    mintPreviewToken({ key, slug: "a", expiresInSeconds: MAX_PREVIEW_SECONDS + 1 }),
  ).rejects.toThrow(/7 days/);
  expect(PREVIEW_AUDIENCE).not.toBe("revalidate");
});
