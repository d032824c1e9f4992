/**
 * Where `landform tools` keeps things: the cache root outside the clone, and
 * in it one folder per tool keyed by version and a hash of the Go module it
 * is built from (a change to the module builds afresh into a new folder).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ToolsError } from "./errors";
import { realpathOrSelf } from "./files";

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

/** The cache root of these options. */
export function cacheRootOf(opts: ToolsOptions, env: NodeJS.ProcessEnv): string {
  return opts.cacheRoot ? path.resolve(opts.cacheRoot) : toolsCacheRoot(env);
}

/** A Go module folder of tools/, whether or not it is there. */
export function moduleDir(opts: ToolsOptions, name: string): string {
  return realpathOrSelf(
    path.join(opts.sourceDir ? path.resolve(opts.sourceDir) : path.join(packageRoot(), "tools"), name),
  );
}

/**
 * One Go module folder of tools/ (`pulumi`, `opentofu`, `s3`, `ferretdb`),
 * checked to hold a go.mod.
 */
export function moduleSource(opts: ToolsOptions, name: string): string {
  const dir = moduleDir(opts, name);
  if (!fs.existsSync(path.join(dir, "go.mod"))) {
    throw new ToolsError(`missing ${path.join(dir, "go.mod")}: landform's tools/ folder is incomplete`);
  }
  return dir;
}

/** `<root>/<name>-<version>-<hash of the module>`: where one built tool lives. */
export function builtDir(root: string, name: string, version: string, src: string): string {
  return path.join(root, `${name}-${version}-${hashSources(src)}`);
}

export interface Layout {
  root: string;
  /** The landform package (the fallback for resolving @pulumi/pulumi). */
  packageDir: string;
  /** tools/pulumi */
  pulumiSrc: string;
  /** `<root>/pulumi-v3.248.0-<hash>`: the bin/ handed out, and its lock. */
  keyDir: string;
  binDir: string;
}

export function layout(opts: ToolsOptions, env: NodeJS.ProcessEnv, pulumiVersion: string): Layout {
  const root = cacheRootOf(opts, env);
  const pulumiSrc = moduleSource(opts, "pulumi");
  const keyDir = builtDir(root, "pulumi", pulumiVersion, pulumiSrc);
  return {
    root,
    packageDir: path.dirname(path.dirname(pulumiSrc)),
    pulumiSrc,
    keyDir,
    binDir: path.join(keyDir, "bin"),
  };
}
