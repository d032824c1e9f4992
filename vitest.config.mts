import { defineConfig } from "vitest/config";

// Projects: `unit` is the fast inner loop (npm run check); `integration`
// starts real servers and tools and runs only in `npm test`;
// `integration-postgres` runs the control-plane suites on PostgreSQL.
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
      {
        // The control-plane suites again, with the state in a real PostgreSQL
        // (test/support/serve.ts). Left out, because they test what only the
        // embedded store has: crash (integrity_check and the data dir lock
        // under kill -9) and vault (`landform vault rotate`, offline on a data dir).
        test: {
          name: "integration-postgres",
          include: [
            "test/control-plane.*.test.ts",
            "test/backups.control-plane.test.ts",
            "test/idempotency.test.ts",
          ],
          // Also left out: suites that start a PostgreSQL of their own whatever the
          // project (database, leases, shared-work, replicas); running them twice adds nothing.
          exclude: [
            "test/control-plane.crash.test.ts",
            "test/control-plane.vault.test.ts",
            "test/control-plane.database.test.ts",
            "test/control-plane.leases.test.ts",
            "test/control-plane.shared-work.test.ts",
            "test/control-plane.replicas.test.ts",
          ],
          env: { LANDFORM_TEST_STORE: "postgres" },
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
