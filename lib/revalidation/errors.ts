/**
 * The receiver's error codes: a closed set, each mapped to its HTTP status here and nowhere else.
 * Senders branch on `code` (stable, documented in receiver-contract.md); `message` is for people.
 */

export const ERROR_STATUS = {
  invalid_json: 400,
  invalid_body: 400,
  unknown_tag: 400,
  invalid_id: 400,
  path_not_supported: 400,
  unauthorized: 401,
  forbidden: 403,
  method_not_allowed: 405,
  unknown_id: 404,
  in_progress: 409,
  id_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  not_configured: 503,
  not_shared: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A field-level problem with the body, e.g. `{ path: "tags.3", message: "..." }`. */
export type Issue = { path: string; message: string };

/**
 * A request the receiver refuses on purpose. Steps throw it; the receiver turns it into the
 * response. Anything else thrown is a bug and becomes a 500 that reveals nothing.
 */
export class Rejection extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly issues: Issue[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { headers?: Record<string, string>; issues?: Issue[] } = {},
  ) {
    super(message);
    this.name = "Rejection";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = options.headers ?? {};
    this.issues = options.issues;
  }
}
