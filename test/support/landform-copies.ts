/**
 * Copies of the landform package at paths of their own, as another clone, a
 * CI runner or an `npm install` has it, for tests that move a stack between
 * them. Build first: both copy dist/.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "./serve";

/**
 * A copy of this checkout's landform package (package.json and dist/, with
 * its dependencies linked) at a new temporary path, as another clone or an
 * `npm install` has it. Build first: the copy is of dist/.
 */
export function copyLandform(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-copy-"));
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(dir, "package.json"));
  fs.cpSync(path.join(ROOT, "dist"), path.join(dir, "dist"), { recursive: true });
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

/**
 * The package as `npm pack` makes it (scripts off: dist/ is already built),
 * unpacked at a new temporary path with the repository's dependencies linked
 * beside it, as `npm install landform-<version>.tgz` leaves it.
 */
export function packLandform(): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "landform-packed-"));
  const packed = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], {
    cwd: ROOT,
    encoding: "utf8",
  }).trim();
  const dir = path.join(work, "landform");
  fs.mkdirSync(dir);
  execFileSync("tar", [
    "-xzf",
    path.join(work, packed.split("\n").pop()!),
    "-C",
    dir,
    "--strip-components=1",
  ]);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}
