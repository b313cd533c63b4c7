/**
 * The Upstash REST wire format: request bodies in, Redis replies out.
 *
 * What `@upstash/redis` expects (pkg/http.ts): with `Upstash-Encoding: base64` every string in a result is
 * base64 (so binary and non-UTF-8 values survive JSON), integers stay numbers, nil is null, arrays are
 * encoded recursively, and only a top-level "OK" may be sent raw. Errors are never encoded. A JSON boolean
 * anywhere in a result breaks the client's decoder.
 */
import { z } from "zod";

/** A Redis reply as both engines hand it back: bulk and status strings are raw bytes. */
export type Reply = Buffer | number | null | Error | Reply[];

export type Json = string | number | null | Json[];

export type ResultItem = { result: Json } | { error: string };

/** Thrown for a command Redis (or the endpoint) refused; `message` is the verbatim Redis error text. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

/** Thrown for a request the endpoint cannot understand; answered with `status`. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

const argument = z.union([z.string(), z.number(), z.boolean()]);
const command = z.array(argument).min(1);
const commands = z.array(command).min(1);

export type Command = string[];

function toArguments(raw: z.output<typeof command>): Command {
  // Upstash turns JSON numbers and booleans into their text; Redis only knows strings.
  return raw.map((value) => String(value));
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new RequestError(400, "ERR the request body is not valid JSON");
  }
}

export function parseCommand(body: string): Command {
  const parsed = command.safeParse(parseJson(body));
  if (!parsed.success) {
    throw new RequestError(
      400,
      'ERR the request body must be one command as a JSON array of strings, numbers or booleans, e.g. ["SET","key","value"]',
    );
  }
  return toArguments(parsed.data);
}

export function parseCommands(body: string): Command[] {
  const parsed = commands.safeParse(parseJson(body));
  if (!parsed.success) {
    throw new RequestError(
      400,
      'ERR the request body must be a non-empty JSON array of commands, e.g. [["SET","key","value"],["GET","key"]]',
    );
  }
  return parsed.data.map(toArguments);
}

/** `POST /set/key/value` style: the path names the command, a non-empty body is its last argument. */
export function parsePathCommand(pathname: string, body: string): Command {
  const segments = pathname
    .split("/")
    .filter((segment) => segment !== "")
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        throw new RequestError(400, "ERR the request path is not valid percent-encoding");
      }
    });
  if (body !== "") segments.push(body);
  if (segments.length === 0) throw new RequestError(400, "ERR no command in the request path");
  return segments;
}

const OK = Buffer.from("OK");

export function encodeReply(reply: Reply, base64: boolean, topLevel = true): Json {
  if (reply === null) return null;
  if (typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64, false));
  // Redis can nest an error in an array (a Lua table with `err`); the client has no slot for it, so it
  // travels as its text.
  const bytes = reply instanceof Error ? Buffer.from(reply.message) : reply;
  // The client passes a raw top-level "OK" through untouched, so it is exact whether Redis meant the status
  // reply or a bulk string "OK"; nested, it would be base64-decoded, so only the top level may skip encoding.
  if (topLevel && bytes.equals(OK)) return "OK";
  return base64 ? bytes.toString("base64") : bytes.toString("utf8");
}

export function toResultItem(outcome: Reply, base64: boolean): ResultItem {
  if (outcome instanceof Error) return { error: outcome.message };
  return { result: encodeReply(outcome, base64) };
}
