/**
 * The Terraform provider mirror of a built checkout, written by that
 * checkout's own `landform tools` code: where the plugin's entry lives (and
 * how the launcher starts it) is the checkout's business, so a baseline from
 * another commit is launched the way it launched itself.
 */
import * as path from "node:path";
import type { ensureTerraformMirror, TerraformMirror } from "../../cli/terraform-mirror";

/** A checkout from before the resident provider has no `residentDir`. */
export function checkoutMirror(
  packageDir: string,
  cacheRoot: string,
): Omit<TerraformMirror, "residentDir"> & { residentDir?: string } {
  const own = require(path.join(packageDir, "dist", "cli", "terraform-mirror.js")) as {
    ensureTerraformMirror: typeof ensureTerraformMirror;
  };
  return own.ensureTerraformMirror({ cacheRoot, packageDir });
}
