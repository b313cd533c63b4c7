/**
 * What the revalidation CLIs share: loading REVALIDATION_* the way Next does (`.env.local` and
 * friends, real environment first) and validating it with lib/env, so a CLI and the server
 * agree on the secret and the audience.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import nextEnv from "@next/env";
import { ConfigError, revalidationEnv } from "../../lib/env";
import { assertStrongSecret, MintError } from "../../lib/revalidation/mint";

export type CliRevalidationConfig = { secret: string; audience: string };

/**
 * `dev`: the CLI aims at the local `npm run dev` server, so it reads the .env files `next dev` reads
 * (including the development-only secrets in .env.development.local).
 */
export function loadRevalidationConfig(options: { dev?: boolean } = {}): CliRevalidationConfig {
  // Quiet: the "Loaded env from ..." line would land in the middle of a token on stdout.
  nextEnv.loadEnvConfig(process.cwd(), options.dev ?? false, { info: () => undefined, error: console.error });
  const env = revalidationEnv(process.env);
  return { secret: assertStrongSecret(env.secrets[0]), audience: env.audience };
}

/** Prints a configuration or usage problem without a stack trace and exits non-zero. */
export function exitWithProblem(error: unknown): never {
  if (error instanceof ConfigError || error instanceof MintError || error instanceof UsageError) {
    console.error(error.message);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
  console.error(error);
  process.exit(1);
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]> & { help: { type: "boolean"; short: "h" } };

/**
 * Parses the command line strictly; a mistake is a UsageError that carries the help text. Returns
 * `undefined` after printing the help for `--help`, so the caller just returns.
 */
export function parseCommandLine<const O extends Options>(options: O, help: string) {
  let values: ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>["values"];
  try {
    values = parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n\n${help}`);
  }
  if ("help" in values && values.help === true) {
    console.log(help);
    return undefined;
  }
  return values;
}
