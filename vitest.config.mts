import { defineConfig } from "vitest/config";

// Two projects: `unit` is the fast inner loop (npm run check); `integration`
// starts real servers and tools and runs only in `npm test`.
// The AWS SDK (backups) warns on every load that its Node 20 support ends;
// the package's engines field already says what it supports.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "sdk/**/*.test.ts",
            "provider/**/*.test.ts",
            "control-plane/**/*.test.ts",
            "cli/**/*.test.ts",
          ],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
