/**
 * Senders that speak in paths (`{ "type": "path", "value": "/posts/x" }`, `{ "path": … }`,
 * `{ "paths": [...] }`) get a 400 that names the tags to send instead; the receiver never
 * revalidates a path. A path names one URL, while a change shows up on several: a post's title is on
 * its page, the home list, the feed, the sitemap and its social image, all of which its tag reaches
 * and none of which its path does. Guessing tags from paths would also make every route an
 * unofficial part of the contract. The table below only writes the suggestion.
 */
import { vocabulary as appVocabulary, type TagVocabulary } from "../tags";
import { Rejection } from "./errors";

/**
 * The tag that refreshes what a known page shows, from the `pages` the entities declare in
 * lib/tags.ts. A trailing slash is forgiven; anything else unknown gets no suggestion.
 */
export function suggestTagsForPath(
  path: string,
  vocabulary: TagVocabulary = appVocabulary,
): string[] | undefined {
  const tag =
    vocabulary.tagForPage(path) ??
    (path.length > 1 ? vocabulary.tagForPage(path.replace(/\/$/, "")) : undefined);
  return tag === undefined ? undefined : [tag];
}

const PATH_KEYS = ["path", "paths"] as const;

/** Throws `path_not_supported` for a body that asks for paths instead of tags; otherwise returns. */
export function rejectPathBody(value: unknown, vocabulary: TagVocabulary = appVocabulary): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  const body = value as Record<string, unknown>;
  if ("tags" in body) return;
  const asksForPath = body.type === "path" || PATH_KEYS.some((key) => key in body);
  if (!asksForPath) return;

  const candidates = [body.value, body.path, ...(Array.isArray(body.paths) ? body.paths.slice(0, 20) : [])];
  const paths = candidates.filter((p): p is string => typeof p === "string" && p.length <= 300);
  const suggested = [...new Set(paths.flatMap((path) => suggestTagsForPath(path, vocabulary) ?? []))];
  const advice =
    suggested.length > 0 && suggested.length === paths.length
      ? `send { "tags": ${JSON.stringify(suggested)} } instead.`
      : `send the tags of what changed instead (known tag shapes: ${vocabulary.shapes.join(", ")}).`;
  throw new Rejection(
    "path_not_supported",
    `This receiver revalidates tags, not paths: a tag reaches every page, feed and image that shows the data, a path only one URL. For ${paths.length === 1 && suggested.length === 1 ? JSON.stringify(paths[0]) : "these paths"}, ${advice}`,
  );
}
