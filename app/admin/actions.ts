"use server";
/**
 * Signing in and out. Not a `defineAction`: nothing is written or invalidated, and the password
 * must never be handed back to the form, so the steps are spelled out here.
 */
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { type ActionState, tryAgainIn } from "@/lib/actions";
import { clientAddress } from "@/lib/client-ip";
import { adminEnv } from "@/lib/env";
import { limiter, SITE_WIDE } from "@/lib/rate-limit";
import { endAdminSession, passwordMatches, startAdminSession } from "@/lib/session";
import { safeNextPath } from "./next-path";

export type SignInState = ActionState<"password">;

const signInInput = z.object({
  password: z.string().min(1, "Enter the admin password.").max(1024, "That password is too long."),
  next: z.string().transform(safeNextPath),
});

export async function signIn(_previous: SignInState, formData: FormData): Promise<SignInState> {
  const { password: expected } = adminEnv();
  if (!expected) return { status: "error", message: "Editing is disabled on this site." };

  const parsed = signInInput.safeParse({
    password: formData.get("password") ?? "",
    next: formData.get("next") ?? "",
  });
  if (!parsed.success) {
    const message = parsed.error.issues.find((issue) => issue.path[0] === "password")?.message;
    return { status: "error", fieldErrors: { password: message ?? "Enter the admin password." } };
  }

  // Every attempt is counted before the password is compared, per address (a shared bucket when
  // the address cannot be trusted, see lib/client-ip.ts) and site-wide, so neither parallel guesses
  // nor a forged X-Forwarded-For get extra tries. A correct password gives the address its allowance back.
  const address = clientAddress(await headers());
  const perAddress = limiter("sign-in");
  const mine = await perAddress.limit(address.key);
  if (!mine.success) return tooManyAttempts(mine.reset);
  // Only attempts an address was allowed reach the site-wide count, so one blocked client cannot drain it.
  const site = await limiter("sign-in-site").limit(SITE_WIDE);
  if (!site.success) return tooManyAttempts(site.reset, "on this site");

  if (!passwordMatches(parsed.data.password, expected)) {
    return { status: "error", fieldErrors: { password: "That is not the admin password." } };
  }

  await perAddress.resetUsedTokens(address.key);
  await startAdminSession();
  redirect(parsed.data.next);
}

function tooManyAttempts(reset: number, where = "from your address"): SignInState {
  return {
    status: "error",
    message: `Too many sign-in attempts ${where}. Try again in ${tryAgainIn(reset)}.`,
  };
}

export async function signOut(): Promise<void> {
  await endAdminSession();
  redirect("/admin");
}
