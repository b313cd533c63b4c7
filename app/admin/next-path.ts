/**
 * Where to go after signing in: only this site's admin page and a post's edit page, so a crafted
 * link cannot send a freshly signed-in admin to another site (an open redirect). Whether `<slug>` is
 * a slug at all is lib/tags.ts's rule, not repeated here.
 */
import { isValidKey } from "@/lib/tags";

const EDIT_PAGE = /^\/posts\/([^/]+)\/edit$/;

export function safeNextPath(value: string | null | undefined): string {
  if (value === "/admin") return value;
  const slug = value ? EDIT_PAGE.exec(value)?.[1] : undefined;
  return slug !== undefined && isValidKey(slug) ? `/posts/${slug}/edit` : "/admin";
}
