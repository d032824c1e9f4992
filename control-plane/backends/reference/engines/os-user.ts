/**
 * Who the engine servers run as. PostgreSQL refuses to start as root, so a
 * backend running as root (as CI and containers do) runs every engine as an
 * unprivileged system user of its own, `landform`, created on first use.
 * Run as anyone else, the engines run as that same user.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const ENGINE_USER = "landform";

export interface RunAs {
  uid: number;
  gid: number;
}

let cached: RunAs | null | undefined;

/** The user to spawn engines as, or null to run them as this process. Creates the user when root needs it. */
export function engineUser(): RunAs | null {
  if (cached !== undefined) return cached;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    cached = null;
    return cached;
  }
  let ids = lookup();
  if (!ids) {
    execFileSync(
      "useradd",
      [
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        ENGINE_USER,
      ],
      { stdio: "ignore", timeout: 30_000 },
    );
    ids = lookup();
  }
  if (!ids) throw new Error(`could not create the system user ${ENGINE_USER} the engines run as`);
  cached = ids;
  return cached;
}

function lookup(): RunAs | undefined {
  try {
    const uid = Number(
      execFileSync("id", ["-u", ENGINE_USER], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
    );
    const gid = Number(
      execFileSync("id", ["-g", ENGINE_USER], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }),
    );
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Hands `target` (and everything under it) to the engine user. */
export function giveTo(runAs: RunAs | null, target: string): void {
  if (!runAs) return;
  const walk = (p: string) => {
    fs.lchownSync(p, runAs.uid, runAs.gid);
    if (fs.lstatSync(p).isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(target);
}

/**
 * The engine user must be able to reach its folder: every folder above it
 * gets search permission for others (o+x, never read), which a temporary
 * data folder (mode 0700) lacks.
 */
export function makeReachable(runAs: RunAs | null, dir: string): void {
  if (!runAs) return;
  let current = path.resolve(dir);
  for (;;) {
    const st = fs.statSync(current);
    if (st.uid !== runAs.uid && (st.mode & 0o001) === 0) fs.chmodSync(current, (st.mode & 0o7777) | 0o001);
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}
