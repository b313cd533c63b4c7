/**
 * When a command may get a local endpoint instead of a configured database (scripts/with-local-redis.ts):
 * builds and starts never guess a database.
 */

/** Variables that mean "this is a deployment": a local endpoint there would serve nobody. */
export const DEPLOYMENT_VARIABLES = [
  "VERCEL",
  "VERCEL_ENV",
  "NETLIFY",
  "RENDER",
  "RAILWAY_ENVIRONMENT",
  "FLY_APP_NAME",
  "K_SERVICE",
] as const;

/**
 * Why no local endpoint may be started for this command, or `undefined` when one may: `next dev`,
 * or an explicit `--local` / `UPSTASH_LOCAL=1`, and never on a deployment host.
 */
export function localEndpointRefusal(options: {
  command: string[];
  explicit: boolean;
  env: Record<string, string | undefined>;
}): string | undefined {
  const { command, env } = options;
  const [program = "", sub = ""] = command;
  const what = program === "next" && sub ? `next ${sub}` : command.join(" ");
  const fix =
    "Set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (or KV_REST_API_URL and KV_REST_API_TOKEN, which Vercel sets when you connect an Upstash database) in the environment or .env.local.";
  const deployment = DEPLOYMENT_VARIABLES.find((name) => env[name]?.trim());
  if (deployment) {
    return `No database is configured, and ${deployment} says this is a deployment: \`${what}\` will not run against a throwaway local Redis. ${fix}`;
  }
  const explicit = options.explicit || env.UPSTASH_LOCAL === "1";
  if (explicit || (program === "next" && sub === "dev")) return undefined;
  return `No database is configured for \`${what}\`. ${fix}\nTo run a production build on this machine against the local endpoint instead, ask for it explicitly:\n  UPSTASH_LOCAL=1 npm run build && UPSTASH_LOCAL=1 npm start`;
}
