/**
 * `POST /subscribe/<channel>`: the server-sent-event stream `redis.subscribe()` reads on Upstash,
 * which the shared tag state uses to hear of changes at once. Real @upstash/redis client, both engines.
 */
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { ENGINES, uniquePrefix, useEndpoint } from "./helpers";

async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(ENGINES)("subscribe against the %s engine", (engine) => {
  const endpoint = useEndpoint(engine);
  const client = () =>
    new Redis({
      url: endpoint().url,
      token: endpoint().token,
      automaticDeserialization: false,
      enableTelemetry: false,
    });

  it("delivers what PUBLISH and a Lua redis.call('PUBLISH') send, after the subscribe confirmation", async () => {
    const channel = `${uniquePrefix()}chan`;
    const redis = client();
    const subscriber = redis.subscribe<string>(channel);
    const messages: string[] = [];
    let confirmed = 0;
    subscriber.on("subscribe", (count) => {
      confirmed = count;
    });
    subscriber.on("message", ({ message }) => messages.push(message));
    try {
      await until(() => confirmed === 1, "the subscribe confirmation");
      expect(await redis.publish(channel, "plain, with a comma")).toBe(1);
      await redis.eval("return redis.call('PUBLISH', KEYS[1], ARGV[1])", [channel], ["from lua"]);
      await until(() => messages.length === 2, "two messages");
      expect(messages).toEqual(["plain, with a comma", "from lua"]);
    } finally {
      await subscriber.unsubscribe();
    }
  });

  it("stops delivering after unsubscribe, and refuses a subscription without the token", async () => {
    const channel = `${uniquePrefix()}chan`;
    const redis = client();
    const subscriber = redis.subscribe<string>(channel);
    let confirmed = false;
    subscriber.on("subscribe", () => {
      confirmed = true;
    });
    await until(() => confirmed, "the subscribe confirmation");
    await subscriber.unsubscribe();
    await until(() => true, "nothing");
    // Once the stream is closed the endpoint has dropped its subscriber connection: nobody receives.
    let receivers = 1;
    for (let i = 0; i < 100 && receivers > 0; i++) {
      receivers = await redis.publish(channel, "late");
      if (receivers > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(receivers).toBe(0);

    const denied = await fetch(`${endpoint().url}/subscribe/${channel}`, {
      method: "POST",
      headers: { accept: "text/event-stream" },
    });
    expect(denied.status).toBe(401);
    await denied.body?.cancel();
  });
});
