/**
 * The local Upstash-compatible endpoint the e2e server runs on, attacked over HTTP as a web page
 * or a process on the machine could: it must refuse other Host names, browsers, dangerous commands
 * and the old well-known token.
 */
import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";
import { Redis } from "@upstash/redis";
import { rawPost } from "../tests/upstash-local/raw-post";
import { E2E } from "./env";

const db = new Redis({
  url: E2E.upstashUrl,
  token: E2E.upstashToken,
  automaticDeserialization: false,
  enableTelemetry: false,
});

/** A raw request to the local endpoint, so the test can choose Host (fetch cannot). */
async function endpointRequest(headers: Record<string, string>, command: unknown[]) {
  const { status, text } = await rawPost(E2E.upstashUrl, headers, command);
  return { status, body: text };
}

test.describe("the local endpoint the server runs on", () => {
  const auth = { authorization: `Bearer ${E2E.upstashToken}` };

  test("DNS rebinding (Host: rebind.attacker.example) and browsers (Origin) are refused", async () => {
    const rebound = await endpointRequest({ ...auth, host: "rebind.attacker.example" }, ["PING"]);
    expect(rebound.status).toBe(403);
    const browser = await endpointRequest({ ...auth, origin: "http://attacker.example" }, ["PING"]);
    expect(browser.status).toBe(403);
    expect((await endpointRequest(auth, ["PING"])).status).toBe(200);
  });

  test("CONFIG GET dir, FLUSHALL and REPLICAOF are refused, and the old local-dev-token is not the token", async () => {
    const marker = `e2e:flushall-marker:${randomUUID()}`;
    await db.set(marker, "kept", { ex: 600 });
    for (const command of [
      ["CONFIG", "GET", "dir"],
      ["FLUSHALL"],
      ["REPLICAOF", "attacker.example", "6379"],
    ]) {
      const res = await endpointRequest(auth, command);
      expect(res.status).toBe(400);
      expect(res.body).toContain(`${command[0]} is not allowed by the local Upstash endpoint`);
    }
    expect((await endpointRequest({ authorization: "Bearer local-dev-token" }, ["PING"])).status).toBe(401);
    // The data is still there.
    expect(await db.get(marker)).toBe("kept");
  });
});
