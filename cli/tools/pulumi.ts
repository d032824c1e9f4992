/**
 * The Pulumi CLI (exactly the version of the pinned Node SDK), its Node.js
 * language host, and the dynamic provider launcher.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isExecutable, isRegularFile, linkTo, realpathOrSelf, writeIfChanged } from "./files";
import { type BuildContext, goBuild } from "./go-build";
import type { Layout } from "./layout";
import { versionOutput } from "./process";
import type { Choice, Found } from "./versions";

export const PULUMI_VERSION = "v3.248.0";
const PULUMI_MODULE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi";
const VERSION_LDFLAG = `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}`;
export const LANGUAGE_HOST = "pulumi-language-nodejs";
export const DYNAMIC_PROVIDER = "pulumi-resource-pulumi-nodejs";

/** The CLI must match the Node SDK exactly: `pulumi version` prints `v3.248.0` and nothing else. */
export function pulumiVersionMatches(output: string | undefined): boolean {
  return output?.trim() === PULUMI_VERSION;
}

export function choosePulumi(onPath: Found | undefined): Choice {
  return onPath && pulumiVersionMatches(onPath.versionOutput)
    ? { kind: "path", path: onPath.path }
    : { kind: "build" };
}

export const pulumiVersionOf = (bin: string, env: NodeJS.ProcessEnv) => versionOutput(bin, ["version"], env);
export const hostVersionOf = (bin: string, env: NodeJS.ProcessEnv) => versionOutput(bin, ["-version"], env);

/**
 * The dynamic provider launcher: node on `@pulumi/pulumi/cmd/dynamic-provider`
 * as the program (the current directory) resolves it, else as the landform
 * package resolves it.
 */
export function dynamicProviderScript(fallbackDir: string): string {
  const resolve = (from: string) =>
    `node -e 'process.stdout.write(require.resolve("@pulumi/pulumi/cmd/dynamic-provider", { paths: [process.argv[1]] }))' ${from} 2>/dev/null`;
  return [
    "#!/bin/sh",
    "# Written by `landform tools`. Starts the Pulumi Node.js dynamic provider",
    "# from the program's own @pulumi/pulumi, else from landform's.",
    `fallback="\${LANDFORM_PACKAGE_DIR:-${shellQuoteInner(fallbackDir)}}"`,
    `entry=$(${resolve('"$PWD"')}) || entry=$(${resolve('"$fallback"')}) || {`,
    '  echo "pulumi-resource-pulumi-nodejs: cannot resolve @pulumi/pulumi/cmd/dynamic-provider from $PWD or $fallback" >&2',
    "  exit 1",
    "}",
    'exec node "$entry" "$@"',
    "",
  ].join("\n");
}

/** Escapes text for use inside a double-quoted shell string. */
function shellQuoteInner(s: string): string {
  return s.replace(/["\\$`]/g, (c) => `\\${c}`);
}

/** pulumi, its language host and the dynamic provider launcher in the bin directory; returns pulumi's path. */
export async function ensurePulumi(
  ctx: BuildContext,
  l: Layout,
  pathPulumi: Found | undefined,
): Promise<string> {
  const bin = path.join(l.binDir, "pulumi");
  const host = path.join(l.binDir, LANGUAGE_HOST);
  const choice = choosePulumi(pathPulumi);
  let siblingsDir: string | undefined;
  if (choice.kind === "path") {
    linkTo(bin, choice.path);
    siblingsDir = path.dirname(realpathOrSelf(choice.path));
  } else if (!(isRegularFile(bin) && pulumiVersionMatches(await pulumiVersionOf(bin, ctx.env)))) {
    ctx.progress(
      `building pulumi ${PULUMI_VERSION} from the Go module proxy (first time, several minutes)…\n`,
    );
    await goBuild(ctx, l.pulumiSrc, PULUMI_MODULE, bin, `-s -w ${VERSION_LDFLAG}`);
  }

  // The language host: the one shipped next to a PATH pulumi, else ours.
  const sibling = siblingsDir && path.join(siblingsDir, LANGUAGE_HOST);
  if (sibling && isExecutable(sibling)) {
    linkTo(host, sibling);
  } else if (!(isRegularFile(host) && (await hostVersionOf(host, ctx.env)) === PULUMI_VERSION)) {
    ctx.progress(`building ${LANGUAGE_HOST} (landform's own) against the Pulumi ${PULUMI_VERSION} SDK…\n`);
    await goBuild(ctx, l.pulumiSrc, `./cmd/${LANGUAGE_HOST}`, host, `-s -w ${VERSION_LDFLAG}`);
  }

  const provider = path.join(l.binDir, DYNAMIC_PROVIDER);
  const shipped = siblingsDir && path.join(siblingsDir, DYNAMIC_PROVIDER);
  if (shipped && isExecutable(shipped)) linkTo(provider, shipped);
  else {
    if (!isRegularFile(provider)) fs.rmSync(provider, { force: true });
    writeIfChanged(provider, dynamicProviderScript(l.packageDir), 0o755);
  }
  return bin;
}
