import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  cliConfig,
  ensureTerraformMirror,
  launcherScript,
  PROVIDER_SOURCE,
  terraformPlatform,
} from "./terraform-mirror";
import { packageRoot } from "./tools";

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("the Terraform provider mirror", () => {
  it("holds only the launcher in the package folder, under Terraform's layout", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "landform-mirror-"));
    temps.push(root);
    const m = ensureTerraformMirror({ cacheRoot: root, packageDir: packageRoot(), node: "/usr/bin/node" });
    const folder = path.dirname(m.launcher);
    expect(path.relative(m.mirrorDir, folder)).toBe(
      path.join(PROVIDER_SOURCE, m.version, terraformPlatform()),
    );
    fs.writeFileSync(path.join(folder, "stray"), "x");
    const again = ensureTerraformMirror({
      cacheRoot: root,
      packageDir: packageRoot(),
      node: "/usr/bin/node",
    });
    expect(fs.readdirSync(folder)).toEqual(["terraform-provider-codesphere"]);
    expect(again.configFile).toBe(m.configFile);
    expect(fs.statSync(m.launcher).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(m.configFile, "utf8")).toBe(cliConfig(m.mirrorDir));
  });

  it("writes a launcher that says what is missing when the plugin is not built", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-launcher-"));
    temps.push(dir);
    const file = path.join(dir, "launcher");
    fs.writeFileSync(file, launcherScript(process.execPath, path.join(dir, "missing.js")), { mode: 0o755 });
    let stderr = "";
    try {
      execFileSync(file, [], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr);
    }
    expect(stderr).toContain("run npm run build");
  });

  it("names platforms as Terraform does", () => {
    expect(terraformPlatform("linux", "x64")).toBe("linux_amd64");
    expect(terraformPlatform("darwin", "arm64")).toBe("darwin_arm64");
  });
});
