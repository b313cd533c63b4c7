/**
 * `npm run preview-link -- --slug hello-world [--url https://your-site] [--expires 1h]`
 *
 * Prints a signed, expiring link that shows an editor the post's unpublished draft on the real site
 * (Next.js Draft Mode). Signed with PREVIEW_SECRET, or a key derived from REVALIDATION_SECRET: see
 * lib/preview.ts. Anyone holding the link sees the draft until it expires, so keep it short-lived.
 */
import nextEnv from "@next/env";
import { ConfigError, revalidationEnv, siteEnv } from "../lib/env";
import {
  DEFAULT_PREVIEW_SECONDS,
  mintPreviewToken,
  PreviewLinkError,
  previewKey,
  previewUrl,
} from "../lib/preview";
import { parseDuration } from "../lib/revalidation/mint";
import { recordedDevServer } from "./dev-secrets";
import { exitWithProblem, parseCommandLine, UsageError } from "./lib-cli/revalidation-env";

const HELP = `Print a preview link that shows a post's unpublished draft (Next.js Draft Mode).

Usage: npm run preview-link -- --slug <slug> [--url https://your-site] [--expires 1h]

  --slug <slug>      the post to preview (required)
  --url <origin>     the site the link opens (default: SITE_URL, else http://localhost:3000)
  --expires <dur>    how long the link works: 10m, 1h, 2d ... (default 1h, at most 7d)
  -h, --help         show this help

Reads PREVIEW_SECRET (or REVALIDATION_SECRET) from the environment or .env.local, as the site does.`;

const OPTIONS = {
  slug: { type: "string" },
  url: { type: "string" },
  expires: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(): Promise<void> {
  const values = parseCommandLine(OPTIONS, HELP);
  if (!values) return;
  if (!values.slug) throw new UsageError(`--slug is required.\n\n${HELP}`);
  // No --url: the local `npm run dev` server, so its .env files (and development secrets) too.
  const devServer = values.url ? undefined : recordedDevServer(process.cwd());
  nextEnv.loadEnvConfig(process.cwd(), !values.url, { info: () => undefined, error: console.error });
  let origin = devServer ?? siteEnv(process.env).url;
  if (values.url) {
    const parsed = URL.canParse(values.url) ? new URL(values.url) : undefined;
    if (!parsed || !/^https?:$/.test(parsed.protocol)) {
      throw new UsageError(`--url must be an http(s) origin such as https://example.com.\n\n${HELP}`);
    }
    origin = parsed.origin;
  }
  const expiresInSeconds = values.expires ? parseDuration(values.expires) : DEFAULT_PREVIEW_SECONDS;
  const now = new Date();
  const token = await mintPreviewToken({
    key: previewKey(siteEnv(process.env), revalidationEnv(process.env)),
    slug: values.slug,
    expiresInSeconds,
    now,
  });
  console.error(
    `preview of ${values.slug}, expires ${new Date(now.getTime() + expiresInSeconds * 1000).toISOString()}`,
  );
  console.log(previewUrl(origin, token));
}

main().catch((error: unknown) => {
  if (error instanceof PreviewLinkError) exitWithProblem(new ConfigError(error.message));
  exitWithProblem(error);
});
