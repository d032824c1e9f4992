/**
 * The Terraform-compatible CLIs: a Terraform of 1.11 or later from PATH, and
 * OpenTofu (MPL-2.0), from PATH or built from the Go module proxy. 1.11 is
 * the first release of either with write-only attributes, which landform's
 * provider keeps secrets in; an older CLI would put them in the state.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isRegularFile, linkTo, withLock } from "./files";
import { type BuildContext, goBuild } from "./go-build";
import { builtDir, cacheRootOf, type Layout, moduleDir, moduleSource, type ToolsOptions } from "./layout";
import { probe, versionOutput } from "./process";
import { type Choice, compareVersions, type Found, parseVersion, type Version } from "./versions";

/** The oldest Terraform taken from PATH. */
export const TERRAFORM_MIN_VERSION: Version = [1, 11, 0];
/** The oldest OpenTofu taken from PATH. */
export const OPENTOFU_MIN_VERSION: Version = [1, 11, 0];
/** The OpenTofu built when PATH has none that is recent enough (tools/opentofu pins it). */
export const OPENTOFU_VERSION = "1.12.6";
const OPENTOFU_MODULE = "github.com/opentofu/opentofu/cmd/tofu";
// As OpenTofu's release build does: the number comes from the module's own
// version/VERSION file, and dev=no drops the "-dev" suffix of a source build.
const OPENTOFU_LDFLAGS = "-s -w -X github.com/opentofu/opentofu/version.dev=no";

function atLeast(output: string | undefined, min: Version): boolean {
  const v = output === undefined ? undefined : parseVersion(output);
  return v !== undefined && compareVersions(v, min) >= 0;
}

export function terraformVersionUsable(output: string | undefined): boolean {
  return atLeast(openTofuVersionLine(output) ?? output, TERRAFORM_MIN_VERSION);
}

/**
 * The `OpenTofu vX.Y.Z` line of `tofu version`. Not always the first: OpenTofu
 * prints warnings about the CLI configuration (a TF_CLI_CONFIG_FILE naming a
 * missing file) on standard output before it.
 */
export function openTofuVersionLine(output: string | undefined): string | undefined {
  return output === undefined ? undefined : /^OpenTofu v\S+$/m.exec(output)?.[0];
}

export function openTofuVersionUsable(output: string | undefined): boolean {
  return atLeast(openTofuVersionLine(output), OPENTOFU_MIN_VERSION);
}

/** A built OpenTofu prints exactly this release, without a `-dev` suffix. */
export function builtOpenTofuMatches(output: string | undefined): boolean {
  return openTofuVersionLine(output) === `OpenTofu v${OPENTOFU_VERSION}`;
}

/** A Terraform of 1.11 or later on PATH; else OpenTofu stands in for it. */
export function chooseTerraform(onPath: Found | undefined): Choice {
  return onPath && terraformVersionUsable(onPath.versionOutput)
    ? { kind: "path", path: onPath.path }
    : { kind: "build" };
}

export function chooseOpenTofu(onPath: Found | undefined): Choice {
  return onPath && openTofuVersionUsable(onPath.versionOutput)
    ? { kind: "path", path: onPath.path }
    : { kind: "build" };
}

export const terraformVersionOf = (bin: string, env: NodeJS.ProcessEnv) =>
  versionOutput(bin, ["version"], env);

/** `<root>/opentofu-1.12.6-<hash of tools/opentofu>/tofu`, built or not. */
export function openTofuBuiltPath(opts: ToolsOptions, env: NodeJS.ProcessEnv): string {
  const src = moduleDir(opts, "opentofu");
  return path.join(builtDir(cacheRootOf(opts, env), "opentofu", OPENTOFU_VERSION, src), "tofu");
}

async function buildOpenTofu(ctx: BuildContext, opts: ToolsOptions): Promise<string> {
  const src = moduleSource(opts, "opentofu");
  const built = openTofuBuiltPath(opts, ctx.env);
  const usable = async () =>
    isRegularFile(built) && builtOpenTofuMatches(await terraformVersionOf(built, ctx.env));
  if (await usable()) return built;
  const dir = path.dirname(built);
  fs.mkdirSync(dir, { recursive: true });
  await withLock(dir, ctx.progress, async () => {
    if (await usable()) return;
    ctx.progress(
      `building OpenTofu ${OPENTOFU_VERSION} from the Go module proxy (first time, several minutes)…\n`,
    );
    await goBuild(ctx, src, OPENTOFU_MODULE, built, OPENTOFU_LDFLAGS);
  });
  return built;
}

/** The OpenTofu on PATH if it is 1.11 or later, else the one built into the cache (built now if missing). */
export async function ensureOpenTofu(opts: ToolsOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((t: string) => void process.stderr.write(t));
  const root = cacheRootOf(opts, env);
  const choice = chooseOpenTofu(await probe("tofu", env, root, terraformVersionOf));
  return choice.kind === "path" ? choice.path : buildOpenTofu({ env, progress }, opts);
}

export interface TerraformClis {
  /** `bin/terraform`: Terraform from PATH, else OpenTofu under that name. */
  terraform: string;
  /** `bin/tofu`, when there is an OpenTofu (from PATH, built now, or built before). */
  tofu: string | undefined;
}

/**
 * Links `terraform` and `tofu` into the bin directory. OpenTofu is built
 * only when PATH has no Terraform 1.11+ and no OpenTofu 1.11+, or when
 * `alwaysOpenTofu` asks for it (the test suites run against both).
 */
export async function ensureTerraformClis(
  ctx: BuildContext,
  opts: ToolsOptions,
  l: Layout,
  found: { terraform: Found | undefined; tofu: Found | undefined },
  alwaysOpenTofu = false,
): Promise<TerraformClis> {
  const tfChoice = chooseTerraform(found.terraform);
  const tofuChoice = chooseOpenTofu(found.tofu);
  const tofuLink = path.join(l.binDir, "tofu");
  let tofuTarget: string | undefined;
  if (tofuChoice.kind === "path") tofuTarget = tofuChoice.path;
  else if (tfChoice.kind === "build" || alwaysOpenTofu) {
    if (tfChoice.kind === "build") {
      const seen = found.terraform
        ? `${found.terraform.path} is ${parseVersion(found.terraform.versionOutput ?? "")?.join(".") ?? "of unknown version"}`
        : "no terraform on PATH";
      ctx.progress(`no Terraform ${TERRAFORM_MIN_VERSION.join(".")}+ or OpenTofu on PATH (${seen})\n`);
    }
    tofuTarget = await buildOpenTofu(ctx, opts);
  } else {
    // Not needed, but linked when an earlier run (or a test suite) built it.
    const built = openTofuBuiltPath(opts, ctx.env);
    if (isRegularFile(built)) tofuTarget = built;
  }
  if (tofuTarget) linkTo(tofuLink, tofuTarget);
  else fs.rmSync(tofuLink, { force: true });

  const terraformLink = path.join(l.binDir, "terraform");
  const terraformTarget = tfChoice.kind === "path" ? tfChoice.path : tofuTarget!;
  linkTo(terraformLink, terraformTarget);
  return { terraform: terraformLink, tofu: tofuTarget ? tofuLink : undefined };
}
