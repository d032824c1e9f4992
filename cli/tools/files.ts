/**
 * File-system helpers of `landform tools`: finding executables on PATH,
 * swapping links and files into place atomically, and a lock folder so two
 * processes never build into one cache at once. Only node: builtins.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { processAlive } from "../../provider/core/processes";
import { ToolsError } from "./errors";

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function isRegularFile(p: string): boolean {
  try {
    return fs.lstatSync(p).isFile();
  } catch {
    return false;
  }
}

export function realpathOrSelf(p: string): string {
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

/** Points `link` at `target`, replacing whatever is there. */
export function linkTo(link: string, target: string): void {
  const tmp = `${link}.tmp-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

export function writeIfChanged(file: string, content: string, mode: number): void {
  if (isRegularFile(file) && fs.readFileSync(file, "utf8") === content) return;
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, content, { mode });
  fs.renameSync(tmp, file);
}

/** A lock folder beside `dir`, so two processes never build into one cache at once. */
export async function withLock<T>(
  dir: string,
  progress: (t: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
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
