/**
 * `landform tools`: the binaries the test suites need, in one cache directory
 * outside the clone. The parts live in cli/tools/, one file per tool:
 *
 * - `pulumi` v3.248.0 (the version of the pinned Node SDK): the one on PATH if
 *   it prints exactly that version, else built from the Go module proxy with
 *   the Go module in tools/pulumi; its language host and dynamic provider
 *   launcher beside it (pulumi.ts).
 * - `terraform`: one on PATH if it is 1.11 or later (write-only attributes);
 *   `tofu`: OpenTofu on PATH if 1.11 or later, else OpenTofu 1.12.6 built
 *   with the Go module in tools/opentofu, when there is no such Terraform or
 *   when asked (terraform.ts). Without a Terraform, `terraform` links OpenTofu.
 * - `versitygw` (versitygw.ts) and FerretDB (ferretdb.ts), servers of the
 *   reference backends.
 *
 * Only node: builtins are used, so `landform tools` runs before anything else
 * is installed. See tools/README.md and
 * docs/decisions/002-pulumi-cli-from-go-modules.md.
 */
export { toolsCommand } from "./tools/command";
export { ensureTools, type Tools } from "./tools/ensure";
export { ToolsError } from "./tools/errors";
export { ensureFerretdb, FERRETDB_VERSION, ferretdbPath } from "./tools/ferretdb";
export { findOnPath } from "./tools/files";
export { hashSources, packageRoot, type ToolsOptions, toolsCacheRoot } from "./tools/layout";
export { choosePulumi, dynamicProviderScript, PULUMI_VERSION, pulumiVersionMatches } from "./tools/pulumi";
export { checkTools, type ToolStatus } from "./tools/report";
export {
  builtOpenTofuMatches,
  chooseOpenTofu,
  chooseTerraform,
  ensureOpenTofu,
  OPENTOFU_MIN_VERSION,
  OPENTOFU_VERSION,
  openTofuVersionUsable,
  TERRAFORM_MIN_VERSION,
  terraformVersionUsable,
} from "./tools/terraform";
export { type Choice, compareVersions, type Found, parseVersion, type Version } from "./tools/versions";
export { ensureVersitygw, VERSITYGW_VERSION } from "./tools/versitygw";
