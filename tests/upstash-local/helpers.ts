/** Shared by the contract suites: one endpoint per engine, unique keys, and a raw HTTP caller. */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { type Engine, type LocalUpstash, startLocalUpstash } from "@/scripts/upstash-local/server";

export const ENGINES: Engine[] = ["redis-server", "in-process"];

/** Starts an endpoint for the enclosing `describe` and returns a getter (the value exists only after beforeAll). */
export function useEndpoint(engine: Engine): () => LocalUpstash {
  let endpoint: LocalUpstash | undefined;
  beforeAll(async () => {
    endpoint = await startLocalUpstash({ engine, log: () => {} });
  });
  afterAll(async () => {
    await endpoint?.close();
  });
  return () => {
    if (!endpoint) throw new Error("the endpoint is not started yet");
    return endpoint;
  };
}

/** Files run in parallel on shared Redis instances, so every test writes under its own prefix. */
export function uniquePrefix(): string {
  return `contract:${randomUUID()}:`;
}

export async function post(
  endpoint: LocalUpstash,
  path: string,
  body: unknown,
  options: { token?: string | null; base64?: boolean; raw?: boolean } = {},
): Promise<{ status: number; body: unknown }> {
  const token = options.token === undefined ? endpoint.token : options.token;
  const res = await fetch(`${endpoint.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(options.base64 ? { "upstash-encoding": "base64" } : {}),
    },
    body: options.raw ? String(body) : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}
