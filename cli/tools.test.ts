import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  builtOpenTofuMatches,
  checkTools,
  chooseOpenTofu,
  choosePulumi,
  chooseTerraform,
  compareVersions,
  dynamicProviderScript,
  ensureOpenTofu,
  ensureTools,
  findOnPath,
  OPENTOFU_VERSION,
  openTofuVersionUsable,
  PULUMI_VERSION,
  packageRoot,
  parseVersion,
  pulumiVersionMatches,
  ToolsError,
  terraformVersionUsable,
  toolsCacheRoot,
  toolsCommand,
} from "./tools";

const temps: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-tools-test-"));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function script(dir: string, name: string, body: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

const toolsSource = path.join(packageRoot(), "tools");

describe("version selection", () => {
  it("parses the versions tools print", () => {
    expect(parseVersion("Terraform v1.11.4\non linux_amd64\n")).toEqual([1, 11, 4]);
    expect(parseVersion("v3.248.0\n")).toEqual([3, 248, 0]);
    expect(parseVersion("OpenTofu v1.6.3")).toEqual([1, 6, 3]);
    expect(parseVersion("no version here")).toBeUndefined();
    expect(compareVersions([1, 10, 0], [1, 5, 9])).toBeGreaterThan(0);
    expect(compareVersions([1, 5, 7], [1, 5, 7])).toBe(0);
  });

  it("takes only the exact Pulumi CLI version of the Node SDK", () => {
    expect(pulumiVersionMatches(`${PULUMI_VERSION}\n`)).toBe(true);
    expect(pulumiVersionMatches("v3.249.0")).toBe(false);
    expect(pulumiVersionMatches("v3.248.0-dev.0")).toBe(false);
    expect(pulumiVersionMatches("")).toBe(false);
    expect(pulumiVersionMatches(undefined)).toBe(false);
    expect(choosePulumi({ path: "/usr/bin/pulumi", versionOutput: "v3.248.0\n" })).toEqual({
      kind: "path",
      path: "/usr/bin/pulumi",
    });
    expect(choosePulumi({ path: "/usr/bin/pulumi", versionOutput: "v3.200.0" })).toEqual({ kind: "build" });
    expect(choosePulumi({ path: "/usr/bin/pulumi", versionOutput: undefined })).toEqual({ kind: "build" });
    expect(choosePulumi(undefined)).toEqual({ kind: "build" });
  });

  it("takes a Terraform of 1.11 or later from PATH (write-only attributes), else OpenTofu stands in", () => {
    expect(terraformVersionUsable("Terraform v1.11.4\non linux_amd64")).toBe(true);
    expect(terraformVersionUsable("Terraform v1.11.0")).toBe(true);
    expect(terraformVersionUsable("Terraform v1.10.5")).toBe(false);
    expect(terraformVersionUsable("Terraform v1.5.7")).toBe(false);
    expect(terraformVersionUsable("Terraform v0.15.5")).toBe(false);
    expect(terraformVersionUsable(undefined)).toBe(false);
    const tf = "/usr/local/bin/terraform";
    expect(chooseTerraform({ path: tf, versionOutput: "Terraform v1.11.4" })).toEqual({
      kind: "path",
      path: tf,
    });
    expect(chooseTerraform({ path: tf, versionOutput: "Terraform v1.5.7" })).toEqual({ kind: "build" });
    expect(chooseTerraform({ path: tf, versionOutput: undefined })).toEqual({ kind: "build" });
    expect(chooseTerraform(undefined)).toEqual({ kind: "build" });
  });

  it("takes an OpenTofu of 1.11 or later from PATH, else builds the pinned release", () => {
    const tofu = "/usr/bin/tofu";
    expect(openTofuVersionUsable("OpenTofu v1.12.6\non linux_amd64")).toBe(true);
    expect(openTofuVersionUsable("OpenTofu v1.11.0")).toBe(true);
    expect(openTofuVersionUsable("OpenTofu v1.10.7")).toBe(false);
    expect(openTofuVersionUsable("Terraform v1.12.0")).toBe(false);
    expect(chooseOpenTofu({ path: tofu, versionOutput: "OpenTofu v1.11.2" })).toEqual({
      kind: "path",
      path: tofu,
    });
    expect(chooseOpenTofu({ path: tofu, versionOutput: "OpenTofu v1.9.1" })).toEqual({ kind: "build" });
    expect(chooseOpenTofu(undefined)).toEqual({ kind: "build" });
    // A source build without the release's ldflags says "-dev": never taken as the pinned release.
    expect(builtOpenTofuMatches(`OpenTofu v${OPENTOFU_VERSION}\non linux_amd64`)).toBe(true);
    expect(builtOpenTofuMatches(`OpenTofu v${OPENTOFU_VERSION}-dev\non linux_amd64`)).toBe(false);
    expect(builtOpenTofuMatches(undefined)).toBe(false);
    // OpenTofu warns about a missing CLI configuration on standard output, before the version.
    const warned = `\nWarning: Unable to open CLI configuration file\n\nThe CLI configuration file at "/x" does not exist.\nOpenTofu v${OPENTOFU_VERSION}\non linux_amd64`;
    expect(builtOpenTofuMatches(warned)).toBe(true);
    expect(openTofuVersionUsable(warned)).toBe(true);
  });
});

describe("locations", () => {
  it("puts the cache outside the clone", () => {
    expect(toolsCacheRoot({ LANDFORM_TOOLS_DIR: "/x/tools", HOME: "/home/u" })).toBe("/x/tools");
    expect(toolsCacheRoot({ XDG_CACHE_HOME: "/xdg", HOME: "/home/u" })).toBe("/xdg/landform/tools");
    expect(toolsCacheRoot({ HOME: "/home/u" })).toBe("/home/u/.cache/landform/tools");
  });

  it("finds tools on PATH but never inside the cache", () => {
    const cache = tempDir();
    const cachedBin = path.join(cache, "pulumi-v3.248.0-abc", "bin");
    const other = path.join(tempDir(), "bin");
    script(cachedBin, "pulumi", "echo cached");
    script(other, "pulumi", "echo other");
    const env = { PATH: [cachedBin, other].join(path.delimiter) };
    expect(findOnPath("pulumi", env)).toBe(path.join(cachedBin, "pulumi"));
    expect(findOnPath("pulumi", env, cache)).toBe(path.join(other, "pulumi"));
    expect(findOnPath("nonexistent-tool", env, cache)).toBeUndefined();
  });
});

describe("dynamic provider launcher", () => {
  function fakeSdk(dir: string): void {
    const entry = path.join(dir, "node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider");
    fs.mkdirSync(entry, { recursive: true });
    fs.writeFileSync(
      path.join(entry, "index.js"),
      `process.stdout.write(${JSON.stringify(dir)} + " " + process.argv.slice(2).join(" "));`,
    );
  }

  it("prefers the program's @pulumi/pulumi and falls back to landform's", () => {
    const program = tempDir();
    const landform = tempDir();
    const elsewhere = tempDir();
    fakeSdk(program);
    fakeSdk(landform);
    const launcher = path.join(tempDir(), "pulumi-resource-pulumi-nodejs");
    fs.writeFileSync(launcher, dynamicProviderScript(landform), { mode: 0o755 });
    const env = { PATH: process.env.PATH };
    const runIn = (cwd: string) => execFileSync(launcher, ["127.0.0.1:1234"], { cwd, env, encoding: "utf8" });
    expect(runIn(program)).toBe(`${program} 127.0.0.1:1234`);
    expect(runIn(elsewhere)).toBe(`${landform} 127.0.0.1:1234`);
  });
});

describe("ensureTools", () => {
  // A PATH with stand-ins for pulumi (and the host beside it) and terraform:
  // ensureTools links them and builds nothing.
  function fakePath(terraformVersion: string | undefined, tofuVersion?: string): string {
    const bin = path.join(tempDir(), "bin");
    script(bin, "pulumi", `echo ${PULUMI_VERSION}`);
    script(bin, "pulumi-language-nodejs", `echo ${PULUMI_VERSION}`);
    if (terraformVersion)
      script(bin, "terraform", `echo "Terraform v${terraformVersion}"; echo "on linux_amd64"`);
    if (tofuVersion) script(bin, "tofu", `echo "OpenTofu v${tofuVersion}"; echo "on linux_amd64"`);
    script(bin, "versitygw", "echo versitygw");
    return bin;
  }

  it("links matching tools from PATH into the cached bin directory", async () => {
    const pathBin = fakePath("1.11.4");
    const cacheRoot = tempDir();
    const progress: string[] = [];
    const opts = {
      env: { PATH: pathBin, HOME: "/nonexistent" },
      cacheRoot,
      sourceDir: toolsSource,
      progress: (t: string) => void progress.push(t),
    };
    const tools = await ensureTools(opts);
    expect(tools.binDir.startsWith(path.join(cacheRoot, `pulumi-${PULUMI_VERSION}-`))).toBe(true);
    expect(tools.pulumi).toBe(path.join(tools.binDir, "pulumi"));
    expect(fs.readlinkSync(tools.pulumi)).toBe(path.join(pathBin, "pulumi"));
    expect(fs.readlinkSync(path.join(tools.binDir, "pulumi-language-nodejs"))).toBe(
      path.join(pathBin, "pulumi-language-nodejs"),
    );
    expect(fs.readlinkSync(tools.terraform)).toBe(path.join(pathBin, "terraform"));
    // With a Terraform 1.11+ on PATH, OpenTofu is not built unless asked for.
    expect(tools.tofu).toBeUndefined();
    expect(fs.existsSync(path.join(tools.binDir, "tofu"))).toBe(false);
    expect(fs.readlinkSync(tools.versitygw)).toBe(path.join(pathBin, "versitygw"));
    const launcher = path.join(tools.binDir, "pulumi-resource-pulumi-nodejs");
    expect(fs.statSync(launcher).mode & 0o111).not.toBe(0);
    expect(progress.join("")).not.toMatch(/building/);

    // A second run changes nothing, and the bin directory reports complete.
    expect(await ensureTools(opts)).toEqual(tools);
    const check = await checkTools(opts);
    expect(check.binDir).toBe(tools.binDir);
    expect(check.tools.map((t) => [t.name, t.ok])).toEqual([
      ["pulumi", true],
      ["pulumi-language-nodejs", true],
      ["pulumi-resource-pulumi-nodejs", true],
      ["terraform", true],
      ["tofu", true],
      ["versitygw", true],
    ]);
    expect(check.tools.find((t) => t.name === "tofu")?.detail).toMatch(/not needed .*--opentofu/);
  });

  it("links an OpenTofu from PATH as tofu, and as terraform when there is no Terraform 1.11+", async () => {
    const pathBin = fakePath("1.5.7", "1.11.1");
    const opts = {
      env: { PATH: pathBin, HOME: "/nonexistent" },
      cacheRoot: tempDir(),
      sourceDir: toolsSource,
      progress: () => {},
    };
    const tools = await ensureTools(opts);
    expect(tools.tofu).toBe(path.join(tools.binDir, "tofu"));
    expect(fs.readlinkSync(tools.tofu!)).toBe(path.join(pathBin, "tofu"));
    expect(fs.readlinkSync(tools.terraform)).toBe(path.join(pathBin, "tofu"));
    const check = await checkTools(opts);
    expect(check.tools.find((t) => t.name === "terraform")).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^OpenTofu 1\.11\.1 -> /),
    });
    expect(check.tools.find((t) => t.name === "tofu")).toMatchObject({ ok: true });
  });

  it("says what is missing when a build is needed and there is no go", async () => {
    // Terraform 1.10 has no write-only attributes: OpenTofu must be built, and go is missing.
    const pathBin = fakePath("1.10.5");
    const opts = { env: { PATH: pathBin }, cacheRoot: tempDir(), sourceDir: toolsSource, progress: () => {} };
    const check = await checkTools(opts);
    expect(check.tools.find((t) => t.name === "terraform")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/no Terraform 1\.11\.0\+ on PATH/),
    });
    expect(check.tools.find((t) => t.name === "tofu")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(new RegExp(`would build OpenTofu ${OPENTOFU_VERSION} .*no go on PATH`)),
    });
    await expect(ensureTools(opts)).rejects.toThrow(ToolsError);
    await expect(ensureTools(opts)).rejects.toThrow(/cannot build tofu: no `go` on PATH/);
  });

  it("ensureOpenTofu takes an OpenTofu 1.11+ from PATH, and builds one (needing go) in place of an older", async () => {
    const cacheRoot = tempDir();
    const recent = fakePath(undefined, "1.11.3");
    const opts = { cacheRoot, sourceDir: toolsSource, progress: () => {} };
    expect(await ensureOpenTofu({ ...opts, env: { PATH: recent } })).toBe(path.join(recent, "tofu"));
    const old = fakePath(undefined, "1.10.0");
    await expect(ensureOpenTofu({ ...opts, env: { PATH: old } })).rejects.toThrow(
      /cannot build tofu: no `go` on PATH/,
    );
  });

  it("rejects unknown arguments", async () => {
    expect(await toolsCommand(["--bogus"])).toBe(2);
  });
});
