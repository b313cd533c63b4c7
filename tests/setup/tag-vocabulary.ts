/**
 * A fixed tag vocabulary for the receiver's tests: the same shapes as the blog demo's today
 * (`site`, `posts`, `post:<slug>`, `comments:<slug>`), declared here so that the receiver's tests
 * keep passing when you replace the demo's entities in lib/tags.ts with your own. The receiver is
 * handed it through its dependencies, as production hands it the app's (lib/tags.ts `vocabulary`).
 */
import { createVocabulary, type EntityDeclaration, type KeyRule } from "@/lib/tags";

export const SLUG: KeyRule = {
  name: "slug",
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/,
  maxLength: 200,
  rule: "1 to 200 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit",
  example: "hello-world",
};

export const TEST_ENTITIES = {
  site: { list: { tag: "site", about: "Everything." } },
  post: {
    list: { tag: "posts", about: "Every list of posts.", pages: ["/", "/feed.xml", "/sitemap.xml"] },
    record: { prefix: "post", key: SLUG, about: "One post.", page: "/posts/:key" },
  },
  comments: { record: { prefix: "comments", key: SLUG, about: "One post's comments." } },
} satisfies Record<string, EntityDeclaration>;

export const testVocabulary = createVocabulary(TEST_ENTITIES);
