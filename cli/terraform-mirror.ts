/**
 * The Terraform provider `landform.local/landform/codesphere`, installed
 * offline: a filesystem mirror holding one launcher script (node on the
 * built plugin in dist/), and a CLI configuration that points Terraform at
 * the mirror (use it as TF_CLI_CONFIG_FILE; `landform tools
 * --terraform-config` prints its path).
 *
 * The launcher (./terraform-launcher) is the only file in the mirror's package folder, because the
 * lock file's `h1:` hash covers that folder: code changes never change it.
 * Only node: builtins are used (this runs from `landform tools`).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import { PROVIDER_HOST, PROVIDER_NAMESPACE, PROVIDER_TYPE } from "../provider/terraform/address";
import { launcherScript } from "./terraform-launcher";

export {
  PROVIDER_HOST,
  PROVIDER_NAMESPACE,
  PROVIDER_SOURCE,
  PROVIDER_TYPE,
} from "../provider/terraform/address";
export { launcherScript, stopResident } from "./terraform-launcher";

export interface TerraformMirror {
  /** The filesystem mirror's root. */
  mirrorDir: string;
  /** The launcher inside the mirror. */
  launcher: string;
  /** The CLI configuration to use as TF_CLI_CONFIG_FILE. */
  configFile: string;
  /** The provider version the mirror offers (the landform package's). */
  version: string;
  /** The resident provider's folder (provider/terraform/resident.ts). */
  residentDir: string;
}

/** Terraform's name for this machine's platform, e.g. linux_amd64. */
export function terraformPlatform(platform: string = process.platform, arch: string = process.arch): string {
  const os = platform === "win32" ? "windows" : platform;
  const cpu = arch === "x64" ? "amd64" : arch === "ia32" ? "386" : arch;
  return `${os}_${cpu}`;
}

/** The CLI configuration: this provider from the mirror, every other one as usual. */
export function cliConfig(mirrorDir: string): string {
  const pattern = `${PROVIDER_HOST}/*/*`;
  return [
    "# Written by `landform tools`. Use it as TF_CLI_CONFIG_FILE.",
    "provider_installation {",
    "  filesystem_mirror {",
    `    path    = ${JSON.stringify(mirrorDir)}`,
    `    include = [${JSON.stringify(pattern)}]`,
    "  }",
    "  direct {",
    `    exclude = [${JSON.stringify(pattern)}]`,
    "  }",
    "}",
    "",
  ].join("\n");
}

function writeIfChanged(file: string, content: string, mode: number): void {
  try {
    if (fs.readFileSync(file, "utf8") === content) {
      fs.chmodSync(file, mode);
      return;
    }
  } catch {
    // not there yet
  }
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}

/**
 * Writes the mirror and the CLI configuration under `cacheRoot`, in a folder
 * keyed by the package's location (two clones never share a launcher).
 */
export function ensureTerraformMirror(options: {
  cacheRoot: string;
  packageDir: string;
  node?: string;
}): TerraformMirror {
  const pkg = JSON.parse(fs.readFileSync(path.join(options.packageDir, "package.json"), "utf8")) as {
    version?: string;
  };
  const version = pkg.version ?? "0.0.0";
  const key = createHash("sha256").update(path.resolve(options.packageDir)).digest("hex").slice(0, 10);
  const root = path.join(options.cacheRoot, `terraform-provider-${key}`);
  const mirrorDir = path.join(root, "mirror");
  const packageFolder = path.join(
    mirrorDir,
    PROVIDER_HOST,
    PROVIDER_NAMESPACE,
    PROVIDER_TYPE,
    version,
    terraformPlatform(),
  );
  fs.mkdirSync(packageFolder, { recursive: true });
  // Only the launcher may live in the package folder (the lock hash covers the folder).
  for (const name of fs.readdirSync(packageFolder)) {
    if (name !== `terraform-provider-${PROVIDER_TYPE}`)
      fs.rmSync(path.join(packageFolder, name), { recursive: true });
  }
  const launcher = path.join(packageFolder, `terraform-provider-${PROVIDER_TYPE}`);
  const entry = path.join(options.packageDir, "dist", "provider", "terraform", "bundle", "main.js");
  const residentDir = path.join(root, "resident");
  writeIfChanged(launcher, launcherScript(options.node ?? process.execPath, entry, residentDir), 0o755);
  const configFile = path.join(root, "terraform.rc");
  writeIfChanged(configFile, cliConfig(mirrorDir), 0o644);
  return { mirrorDir, launcher, configFile, version, residentDir };
}
