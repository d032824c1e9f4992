/**
 * Starting, stopping and finding engine server processes: one child process
 * per service, its output appended to a log file in the service's folder, and
 * the pid file the server writes used to find a server a previous backend
 * process left running (after a crash of `landform serve`, for instance).
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { RunAs } from "./os-user";

export interface Launch {
  file: string;
  args: string[];
  cwd: string;
  logFile: string;
  runAs: RunAs | null;
  env?: NodeJS.ProcessEnv;
}

/** Starts the server; its stdout and stderr go to `logFile` (never to our own log: it is the server's). */
export function launch(l: Launch): ChildProcess {
  const out = fs.openSync(l.logFile, "a", 0o600);
  try {
    return spawn(l.file, l.args, {
      cwd: l.cwd,
      stdio: ["ignore", out, out],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8", ...l.env },
      ...(l.runAs ? { uid: l.runAs.uid, gid: l.runAs.gid } : {}),
    });
  } finally {
    // The child holds its own copy of the descriptor.
    fs.closeSync(out);
  }
}

/** Sends `signal` and waits for the child to exit; SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Stops a server a previous backend process left running, found by the pid
 * file it wrote; `name` must appear in its command line, so a pid reused by
 * another program is left alone.
 */
export async function stopLeftover(
  pidFile: string,
  name: string,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<boolean> {
  let pid: number;
  try {
    pid = Number.parseInt(fs.readFileSync(pidFile, "utf8").split("\n")[0]!.trim(), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !alive(pid)) return false;
  let cmdline = "";
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return false;
  }
  if (!cmdline.includes(name)) return false;
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      await sleep(100);
      if (!alive(pid)) break;
    }
    await sleep(50);
  }
  return true;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0: read its state.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** A port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Whether a server could listen on `port` of 127.0.0.1 now. A stopped
 * (paused) service's port is free for anyone: another program may hold it
 * when the service starts again.
 */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") resolve(false);
      else reject(err);
    });
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** The last lines of a log file, to say why a server did not start. */
export function tail(file: string, lines = 5): string {
  try {
    const text = fs.readFileSync(file, "utf8");
    return text.trimEnd().split("\n").slice(-lines).join(" | ");
  } catch {
    return "";
  }
}
