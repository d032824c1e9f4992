/** `ensureTools`: every tool the suites and `npm start` need, in one bin directory. */
import * as fs from "node:fs";
import * as path from "node:path";
import { findOnPath, linkTo, withLock } from "./files";
import type { BuildContext } from "./go-build";
import { layout, type ToolsOptions } from "./layout";
import { probe } from "./process";
import { ensurePulumi, PULUMI_VERSION, pulumiVersionOf } from "./pulumi";
import { ensureTerraformClis, terraformVersionOf } from "./terraform";
import { buildVersitygw } from "./versitygw";

export interface Tools {
  /** Holds pulumi, pulumi-language-nodejs, pulumi-resource-pulumi-nodejs, terraform, tofu and versitygw. */
  binDir: string;
  pulumi: string;
  /** Terraform 1.11+ from PATH, else OpenTofu under the name `terraform`. */
  terraform: string;
  /** OpenTofu, when PATH has one, it was needed, or it was asked for (`opentofu`). */
  tofu: string | undefined;
  /** The Terraform CLI configuration (TF_CLI_CONFIG_FILE) that installs landform's provider from its mirror. */
  terraformConfig: string;
  /** versitygw, an S3-compatible server (backups of the reference backends go there). */
  versitygw: string;
}

/**
 * Makes sure the bin directory holds every tool, building what is missing.
 * Safe to call from several processes at once (they take turns).
 */
export async function ensureTools(opts: ToolsOptions & { opentofu?: boolean } = {}): Promise<Tools> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((t: string) => void process.stderr.write(t));
  const l = layout(opts, env, PULUMI_VERSION);
  const ctx: BuildContext = { env, progress };
  return withLock(l.keyDir, progress, async () => {
    fs.mkdirSync(l.binDir, { recursive: true });
    const [pathPulumi, pathTerraform, pathTofu] = await Promise.all([
      probe("pulumi", env, l.root, pulumiVersionOf),
      probe("terraform", env, l.root, terraformVersionOf),
      probe("tofu", env, l.root, terraformVersionOf),
    ]);
    const pulumi = await ensurePulumi(ctx, l, pathPulumi);
    const { terraform, tofu } = await ensureTerraformClis(
      ctx,
      opts,
      l,
      { terraform: pathTerraform, tofu: pathTofu },
      opts.opentofu,
    );
    // The Terraform provider (landform.local/landform/codesphere): a launcher in a
    // filesystem mirror, and the CLI configuration that installs it from there
    // (`--terraform-config`). See cli/terraform-mirror.ts.
    const { ensureTerraformMirror } = await import("../terraform-mirror.js");
    const mirror = ensureTerraformMirror({ cacheRoot: l.root, packageDir: l.packageDir });
    const versitygw = path.join(l.binDir, "versitygw");
    linkTo(versitygw, findOnPath("versitygw", env, l.root) ?? (await buildVersitygw(ctx, opts)));
    return { binDir: l.binDir, pulumi, terraform, tofu, terraformConfig: mirror.configFile, versitygw };
  });
}
