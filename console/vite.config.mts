import { resolve } from "node:path";
import { defineConfig } from "vite";

// The console is plain preact + TypeScript: JSX through the bundler's own
// transform (no plugin), built into dist/console, which `landform serve` serves.
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: resolve(import.meta.dirname, "..", "dist", "console"),
    emptyOutDir: true,
    // The CSP allows no inline script: nothing may be inlined into index.html.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
  },
});
