/**
 * Where to go after signing in: only this site's admin and edit pages, so a crafted link cannot
 * send a freshly signed-in admin to another site (an open redirect).
 */
const ALLOWED = /^\/(admin|posts\/[A-Za-z0-9][A-Za-z0-9._-]{0,199}\/edit)$/;

export function safeNextPath(value: string | null | undefined): string {
  return value && ALLOWED.test(value) ? value : "/admin";
}
