/**
 * The resident provider: one long-lived process that serves the plugin
 * sessions of many Terraform runs, so that the four plugin starts of a
 * `terraform apply` (schema, validate, plan, apply) cost a shell script each
 * instead of a Node.js start and a module load each.
 *
 * Terraform still starts the launcher from the provider mirror for every
 * phase (cli/terraform-mirror.ts). The launcher asks the resident for a
 * session through files in the resident's folder, which only its user can
 * enter (mode 0700, checked here): no port, no key to leak. A session is the
 * same plugin as a plugin process (./plugin, ./provider), with the launcher's
 * environment and its own mutual-TLS server; it ends on Shutdown, or when
 * Terraform's connection goes away. The launcher prints the handshake line
 * and passes the session's log lines on to Terraform until the session ends.
 *
 * The folder:
 *   pid            the resident's process id; empty while it starts
 *   requests       a FIFO; a launcher writes one line, its session name (digits)
 *   NAME.env       the launcher's environment (NAME=value, each ended by NUL),
 *                  written before the request and removed once read
 *   NAME.out       a FIFO the launcher made and reads: the handshake line (or
 *                  `retired`), then the session's log lines
 *
 * The resident retires (answers `retired`, gives up its pid file and ends
 * with its last session) when its bundle was rebuilt or a launcher's
 * start-up settings differ from its own (NODE_OPTIONS, CA certificates: they
 * act only when a process starts); the launcher then starts a new one. It
 * ends after LANDFORM_PROVIDER_IDLE_SECONDS (default 600) with no session.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { processAlive } from "../core/processes";
import { createLog } from "./log";
import { servePlugin } from "./plugin";
import { providerMethods } from "./protocol";
import { createTlsIdentity, type TlsIdentity } from "./tls";

export const DEFAULT_IDLE_SECONDS = 600;
/** A session whose handshake Terraform never follows with a connection ends after this. */
const CONNECT_GRACE_MS = 60_000;
/** Largest environment file read (Terraform's environment is a few kilobytes). */
const MAX_ENV_BYTES = 1024 * 1024;
const SESSION_NAME = /^[0-9]{1,10}$/;

/** Variables that act only when a Node.js process starts: a session must match the resident's. */
export function startupSettings(env: NodeJS.ProcessEnv): string {
  const names = Object.keys(env)
    .filter((k) => /^(NODE_|UV_|OPENSSL_|SSL_CERT_)/.test(k) || k === "LANDFORM_NODE")
    .sort();
  return JSON.stringify(names.map((k) => [k, env[k]]));
}

/** NAME=value entries, each ended by NUL, as the launcher writes them. */
export function parseEnvironment(bytes: Buffer): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const entry of bytes.toString("utf8").split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function fileStamp(file: string): string {
  const s = fs.statSync(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

/** The folder, made private; refuses one that another user could enter. */
function privateFolder(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const s = fs.statSync(dir);
  if (process.getuid && s.uid !== process.getuid())
    throw new Error(`${dir} belongs to another user; the resident provider will not use it`);
  if ((s.mode & 0o077) !== 0)
    throw new Error(`${dir} can be entered by other users (mode ${(s.mode & 0o777).toString(8)})`);
}

/** Takes the pid file (empty until requests are read), or returns undefined when a live resident has it. */
function claimPidFile(file: string): number | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return fs.openSync(file, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const text = fs.readFileSync(file, "utf8").trim();
      const pid = Number(text);
      const starting = text === "" && Date.now() - fs.statSync(file).mtimeMs < 10_000;
      if (starting || (pid > 0 && processAlive(pid))) return undefined;
      fs.rmSync(file, { force: true }); // left by a resident that was killed
    }
  }
  return undefined;
}

export interface ResidentOptions {
  dir: string;
  /** The bundle file this process runs: rebuilt, it retires the resident. */
  entry: string;
  idleMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called once the resident has ended; default process.exit(0). */
  exit?: () => void;
}

export interface Resident {
  /** Ends the resident now: sessions are ended, its files removed. */
  stop(): void;
}

/** Runs the resident in `dir`; undefined when another live resident already serves that folder. */
export async function runResident(options: ResidentOptions): Promise<Resident | undefined> {
  const { dir } = options;
  const env = options.env ?? process.env;
  const idleMs = options.idleMs ?? Number(env.LANDFORM_PROVIDER_IDLE_SECONDS || DEFAULT_IDLE_SECONDS) * 1000;
  privateFolder(dir);
  const pidFile = path.join(dir, "pid");
  const pidFd = claimPidFile(pidFile);
  if (pidFd === undefined) return undefined;

  const [{ landformProvider }] = await Promise.all([
    import("./landform-provider.js"),
    // What a session's first plan needs, loaded once here instead of per session.
    import("../../sdk/client.js"),
    import("../core/catalog-checks.js"),
    import("../core/lifecycle.js"),
  ]);
  const identity: TlsIdentity = createTlsIdentity();
  const settings = startupSettings(env);
  const stamp = fileStamp(options.entry);

  const requestsPath = path.join(dir, "requests");
  if (!fs.existsSync(requestsPath)) execFileSync("mkfifo", ["-m", "600", requestsPath]);
  // Read and write: the FIFO never reports end of file between launchers.
  const requests = new net.Socket({
    fd: fs.openSync(requestsPath, fs.constants.O_RDWR | fs.constants.O_NONBLOCK),
    readable: true,
    writable: false,
  });

  /** Each open session's end, by the launcher's pid (the session's name). */
  const open = new Map<number, () => void>();
  // A launcher killed before Terraform connected (or Terraform killed with it) reads
  // nothing more: its session ends within a second instead of after the grace period.
  const watch = setInterval(() => {
    for (const [pid, close] of open) if (!processAlive(pid)) close();
  }, 1000);
  watch.unref();
  let retired = false;
  let ended = false;
  let idleTimer: NodeJS.Timeout | undefined;

  const retire = () => {
    if (retired) return;
    retired = true;
    // The next launcher starts a new resident; this one ends with its last session.
    try {
      if (fs.readFileSync(pidFile, "utf8").trim() === String(process.pid))
        fs.rmSync(pidFile, { force: true });
    } catch {
      // gone already
    }
    if (open.size === 0) end();
  };
  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(idleTimer);
    clearInterval(watch);
    process.off("SIGTERM", end);
    for (const close of [...open.values()]) close();
    requests.destroy();
    retire();
    try {
      for (const name of fs.readdirSync(dir)) {
        if (/^[0-9]+\.(env|out)$/.test(name)) fs.rmSync(path.join(dir, name), { force: true });
      }
    } catch {
      // the folder is gone already (a test workspace removed with its resident)
    }
    (options.exit ?? (() => process.exit(0)))();
  };
  const idle = () => {
    clearTimeout(idleTimer);
    if (open.size > 0) return;
    if (retired) return end();
    idleTimer = setTimeout(end, idleMs);
    idleTimer.unref?.();
  };

  const session = async (name: string) => {
    const launcherPid = Number(name);
    const envFile = path.join(dir, `${name}.env`);
    const outPath = path.join(dir, `${name}.out`);
    let bytes: Buffer;
    let outFd: number;
    try {
      if (fs.statSync(envFile).size > MAX_ENV_BYTES) throw new Error("environment too large");
      bytes = fs.readFileSync(envFile);
      fs.rmSync(envFile, { force: true });
      // Fails (ENXIO) when the launcher is gone: nobody reads the FIFO any more.
      outFd = fs.openSync(outPath, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch {
      fs.rmSync(envFile, { force: true });
      return;
    }
    const out = new net.Socket({ fd: outFd, readable: false, writable: true });
    out.on("error", () => close());
    let closed = false;
    let stop: (() => Promise<void>) | undefined;
    const close = () => {
      if (closed) return;
      closed = true;
      open.delete(launcherPid);
      clearTimeout(grace);
      void stop?.();
      out.end();
      fs.rmSync(outPath, { force: true });
      idle();
    };
    open.set(launcherPid, close);
    clearTimeout(idleTimer);
    const grace = setTimeout(close, CONNECT_GRACE_MS);

    const sessionEnv = parseEnvironment(bytes);
    let stale = startupSettings(sessionEnv) !== settings;
    try {
      stale ||= fileStamp(options.entry) !== stamp;
    } catch {
      stale = true; // the bundle is gone (npm run clean)
    }
    if (stale || retired) {
      out.write("retired\n");
      close();
      retire();
      return;
    }
    const log = createLog(sessionEnv, (line) => {
      if (!closed) out.write(line);
    });
    try {
      const running = await servePlugin(providerMethods, landformProvider({ env: sessionEnv, log }), {
        env: sessionEnv,
        log,
        identity,
        out: (line) => out.write(`${line}\n`),
        exit: close,
        onDisconnect: close,
      });
      stop = running.stop;
      log.log("debug", "session of the resident provider", { resident_pid: process.pid });
      if (closed) void stop();
    } catch (error) {
      // Not a plugin start (no magic cookie, an old protocol): the launcher runs the
      // plugin itself, which says why.
      out.write(`refused: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}\n`);
      close();
    }
  };

  let pending = "";
  requests.on("data", (chunk: Buffer) => {
    pending += chunk.toString("latin1");
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    if (pending.length > 64) pending = "";
    for (const line of lines) {
      if (SESSION_NAME.test(line) && !ended) void session(line);
    }
  });
  requests.on("error", () => end());

  fs.writeSync(pidFd, String(process.pid));
  fs.closeSync(pidFd);
  process.on("SIGTERM", end);
  idle();
  return { stop: end };
}
