/**
 * Bundles bench/support/noop-plugin.ts the way `npm run build` bundles the
 * real plugin, and writes a provider mirror for it (`landform.local/bench/noop`)
 * with the same launcher script `landform tools` writes. Returns the CLI
 * configuration to use as TF_CLI_CONFIG_FILE.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cliConfig, launcherScript, terraformPlatform } from "../../cli/terraform-mirror";
import { ROOT } from "./processes";

export const NOOP_SOURCE = "landform.local/bench/noop";

export async function noopPluginMirror(work: string): Promise<string> {
  const bundleDir = path.join(work, "noop-plugin");
  const { build } = await import("rolldown");
  await build({
    input: { main: path.join(ROOT, "bench", "support", "noop-plugin.ts") },
    platform: "node",
    tsconfig: path.join(ROOT, "tsconfig.json"),
    logLevel: "warn",
    output: { dir: bundleDir, format: "cjs", entryFileNames: "[name].js", chunkFileNames: "[name].js" },
  });
  const mirrorDir = path.join(work, "noop-mirror");
  const folder = path.join(mirrorDir, NOOP_SOURCE, "0.0.1", terraformPlatform());
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(
    path.join(folder, "terraform-provider-noop"),
    launcherScript(process.execPath, path.join(bundleDir, "main.js")),
    { mode: 0o755 },
  );
  const configFile = path.join(work, "noop.tfrc");
  fs.writeFileSync(configFile, cliConfig(mirrorDir));
  return configFile;
}
