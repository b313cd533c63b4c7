/**
 * A fixed tag vocabulary for the receiver's tests: the same shapes as the blog demo's today
 * (`site`, `posts`, `post:<slug>`, `comments:<slug>`), declared here so that the receiver's tests
 * keep passing when you replace the demo's entities in lib/tags.ts with your own. The receiver is
 * handed it through its dependencies, as production hands it the app's (lib/tags.ts `vocabulary`).
 */
import { createVocabulary, type EntityDeclaration, SLUG } from "@/lib/tags";

// SLUG is the generic slug rule, not the demo's: it stays in lib/tags.ts when the demo goes.
export { SLUG };

export const TEST_ENTITIES = {
  site: { list: { tag: "site", about: "Everything." } },
  post: {
    list: { tag: "posts", about: "Every list of posts.", pages: ["/", "/feed.xml", "/sitemap.xml"] },
    record: { prefix: "post", key: SLUG, about: "One post.", page: "/posts/:key" },
  },
  comments: { record: { prefix: "comments", key: SLUG, about: "One post's comments." } },
} satisfies Record<string, EntityDeclaration>;

export const testVocabulary = createVocabulary(TEST_ENTITIES);
