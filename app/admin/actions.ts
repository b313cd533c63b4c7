"use server";
/**
 * Signing in and out. Sign-in is a `defineAction` like every form's action: nothing is invalidated
 * (no cached read depends on a session), and the password is a `secret` field, never handed back.
 */
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { ActionError, defineAction, tryAgainIn } from "@/lib/actions";
import { clientAddress } from "@/lib/client-ip";
import { adminEnv } from "@/lib/env";
import { limiter, SITE_WIDE } from "@/lib/rate-limit";
import { endAdminSession, passwordMatches, startAdminSession } from "@/lib/session";
import { safeNextPath } from "./next-path";

const signInInput = z.object({
  // Not trimmed: a password is compared exactly as typed.
  password: z.string().min(1, "Enter the admin password.").max(1024, "That password is too long."),
  /** Where to go afterwards; anything but this site's admin and edit pages becomes /admin. */
  next: z.string().transform(safeNextPath),
});

export const signIn = defineAction({
  name: "sign-in",
  schema: signInInput,
  secret: ["password"],
  // Every attempt is counted before the password is compared, per address (a shared bucket when
  // the address cannot be trusted, see lib/client-ip.ts) and site-wide, so neither parallel guesses
  // nor a forged X-Forwarded-For get extra tries.
  authorize: async () => {
    if (!adminEnv().password) throw new ActionError("Editing is disabled on this site.");
    const mine = await limiter("sign-in").limit(clientAddress(await headers()).key);
    if (!mine.success) throw tooManyAttempts(mine.reset, "from your address");
    // Only attempts an address was allowed reach the site-wide count, so one blocked client cannot drain it.
    const site = await limiter("sign-in-site").limit(SITE_WIDE);
    if (!site.success) throw tooManyAttempts(site.reset, "on this site");
  },
  mutate: async ({ password }) => {
    const { password: expected } = adminEnv();
    if (!expected || !passwordMatches(password, expected)) {
      throw new ActionError("That is not the admin password.", { field: "password" });
    }
    // A correct password gives the address its allowance back.
    await limiter("sign-in").resetUsedTokens(clientAddress(await headers()).key);
    await startAdminSession();
  },
  tags: () => [],
  onSuccess: ({ next }) => redirect(next),
});

function tooManyAttempts(reset: number, where: string): ActionError {
  return new ActionError(`Too many sign-in attempts ${where}. Try again in ${tryAgainIn(reset)}.`);
}

export async function signOut(): Promise<void> {
  await endAdminSession();
  redirect("/admin");
}
