/**
 * The Terraform plugin as one bundle (`npm run build` writes it to
 * dist/provider/terraform/bundle/; the launcher that `landform tools` writes
 * runs it). Terraform starts a new plugin process for every phase of a run,
 * and resolving and compiling a few hundred small modules (the SDK, undici,
 * zod, ajv) in each was a large share of a run: bench/terraform-apply.ts
 * and bench/plugin-start.ts measure it. What loads lazily stays lazy: the
 * SDK and the catalog checks are chunks of their own, loaded on first use.
 */
import { defineConfig } from "rolldown";

export default defineConfig({
  input: { main: "provider/terraform/main.ts" },
  platform: "node",
  tsconfig: "tsconfig.json",
  output: {
    dir: "dist/provider/terraform/bundle",
    format: "cjs",
    entryFileNames: "[name].js",
    chunkFileNames: "[name].js",
    sourcemap: true,
  },
});
