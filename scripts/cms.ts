/**
 * `npm run cms -- --slug hello-world --title "Changed in the CMS" [--body "..."] [--draft]`
 *
 * Plays the CMS for the README's "Try it": it changes a post (or saves a draft) straight in Redis and
 * tells the site nothing, as a real CMS does. The cached pages keep showing the old text until a
 * webhook names the post's tag: `npm run revalidate -- --tag post:<slug>`. package.json runs it
 * through with-local-redis, so it finds the database `npm run dev` uses.
 */
import { readPost, writeDraft, writePost } from "../lib/posts";
import { isValidKey, KEY_RULE, postTags } from "../lib/tags";
import { exitWithProblem, parseCommandLine, UsageError } from "./lib-cli/revalidation-env";

const HELP = `Change a post behind the site's back, as a CMS would (nothing is revalidated).

Usage: npm run cms -- --slug <slug> [--title <title>] [--body <text>] [--draft]

  --slug <slug>     the post (it must exist; see the home page)
  --title <title>   the new title
  --body <text>     the new text
  --draft           save it as the post's unpublished draft instead (see README, "Drafts, previews")
  -h, --help        show this help`;

const OPTIONS = {
  slug: { type: "string" },
  title: { type: "string" },
  body: { type: "string" },
  draft: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(): Promise<void> {
  const values = parseCommandLine(OPTIONS, HELP);
  if (!values) return;
  const slug = values.slug ?? "";
  if (!isValidKey(slug)) throw new UsageError(`--slug must be ${KEY_RULE}.\n\n${HELP}`);
  if (values.title === undefined && values.body === undefined) {
    throw new UsageError(`Give --title, --body or both.\n\n${HELP}`);
  }
  const post = await readPost(slug);
  if (!post)
    throw new UsageError(
      `There is no post "${slug}". The seeded ones: hello-world, stale-while-revalidate, read-your-writes.`,
    );
  const title = values.title ?? post.title;
  const body = values.body ?? post.body;
  if (values.draft) {
    await writeDraft(slug, { title, body });
    console.log(`Saved a draft of "${slug}". Preview it: npm run preview-link -- --slug ${slug}`);
    return;
  }
  await writePost({ slug, title, body });
  console.log(
    `Changed "${slug}" in the database. The site was not told: its pages stay as they were until\n  npm run revalidate -- --tag ${postTags.record(slug)}`,
  );
}

main().catch(exitWithProblem);
