/**
 * `npm run token -- --iss cms --expires 365d --scope 'post:*' --scope posts`
 *
 * Prints a long-lived, scoped revalidation token for a CMS's custom-header setting. It carries no
 * `jti`: a fixed `jti` would make every webhook after the first a duplicate.
 */
import { mintRevalidationToken, parseDuration } from "../lib/revalidation/mint";
import { SCOPE_SHAPES } from "../lib/tags";
import {
  exitWithProblem,
  loadRevalidationConfig,
  parseCommandLine,
  UsageError,
} from "./lib-cli/revalidation-env";

const HELP = `Mint a long-lived revalidation token to paste into a CMS webhook (Authorization: Bearer <token>).

Usage: npm run token -- --iss <sender> [--expires 365d] [--scope <pattern>]... [--aud <audience>]

  --iss <sender>       the sender's name (required): rate limits and revalidation IDs are per sender
  --expires <dur>      lifetime: 30d, 12h, 1y ... (default 365d); rotate the secret to revoke early
  --scope <pattern>    what this token may revalidate, repeatable: one of
                       ${SCOPE_SHAPES.join(", ")}
                       (* is every tag; <prefix>:* every record of that kind); nothing else.
                       Without --scope the token may revalidate every tag
  --aud <audience>     the audience claim (default: REVALIDATION_AUDIENCE, else "revalidate")
  -h, --help           show this help

Reads REVALIDATION_SECRET from the environment or .env.local. Prints the token on stdout, details on stderr.`;

const OPTIONS = {
  iss: { type: "string" },
  expires: { type: "string" },
  scope: { type: "string", multiple: true },
  aud: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(): Promise<void> {
  const values = parseCommandLine(OPTIONS, HELP);
  if (!values) return;
  if (!values.iss) throw new UsageError(`--iss is required.\n\n${HELP}`);

  const config = loadRevalidationConfig();
  const expiresInSeconds = parseDuration(values.expires ?? "365d");
  const now = new Date();
  const token = await mintRevalidationToken({
    secret: config.secret,
    audience: values.aud ?? config.audience,
    issuer: values.iss,
    scope: values.scope,
    expiresInSeconds,
    now,
  });
  const expiresAt = new Date(now.getTime() + expiresInSeconds * 1000).toISOString();
  console.error(
    `iss=${values.iss} aud=${values.aud ?? config.audience} scope=${values.scope ? values.scope.join(",") : "(every tag)"} expires=${expiresAt}`,
  );
  if (!values.scope) console.error("warning: no --scope, so this token may revalidate every tag.");
  console.log(token);
}

main().catch(exitWithProblem);
