"use server";
/**
 * Signing in and out. Not a `defineAction`: nothing is written or invalidated, and the password
 * must never be handed back to the form, so the steps are spelled out here.
 */
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { z } from "zod";
import { type ActionState, tryAgainIn } from "@/lib/actions";
import { clientIp } from "@/lib/client-ip";
import { adminEnv } from "@/lib/env";
import { limiter } from "@/lib/rate-limit";
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

  // Only failed attempts count (RATE_LIMIT_SIGN_IN): a blocked address is refused before the
  // password is even compared, and a correct password never uses up the allowance.
  const ip = clientIp(await headers());
  const limit = limiter("sign-in");
  if (ip) {
    const { remaining, reset } = await limit.getRemaining(ip);
    if (remaining <= 0) return tooManyAttempts(reset);
  }

  if (!passwordMatches(parsed.data.password, expected)) {
    if (ip) {
      const { success, remaining, reset } = await limit.limit(ip);
      if (!success || remaining <= 0) return tooManyAttempts(reset);
    }
    return { status: "error", fieldErrors: { password: "That is not the admin password." } };
  }

  await startAdminSession();
  redirect(parsed.data.next);
}

function tooManyAttempts(reset: number): SignInState {
  return {
    status: "error",
    message: `Too many failed sign-in attempts. Try again in ${tryAgainIn(reset)}.`,
  };
}

export async function signOut(): Promise<void> {
  await endAdminSession();
  redirect("/admin");
}
