import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL("./", import.meta.url));

export default defineConfig({
  resolve: {
    // Mirrors tsconfig's `paths: {"@/*": ["./*"]}`; a regex so `@upstash/...` is left alone.
    alias: [{ find: /^@\//, replacement: root }],
  },
  test: {
    environment: "node",
    include: ["tests/**/*.test.ts"],
    // One local Upstash endpoint over a real redis-server for the whole run; see tests/setup/global-setup.ts.
    globalSetup: ["tests/setup/global-setup.ts"],
    setupFiles: ["tests/setup/env.ts"],
    // Starting redis-server and the Next.js modules some suites import can be slow on a cold machine.
    hookTimeout: 30_000,
    testTimeout: 15_000,
  },
});
