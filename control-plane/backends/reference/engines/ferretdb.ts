/**
 * The FerretDB engine: one FerretDB v1 server per `ferretdb` service, the
 * MongoDB wire protocol on its own 127.0.0.1 port, its documents in SQLite
 * files in the service folder (so they survive pause, resume and restarts).
 *
 * Authentication is FerretDB's own SCRAM users ("new authentication"). The
 * first start creates the backend's own user `landform_admin` with a
 * generated password kept in the folder (0600), handed to the server in its
 * environment through a 0600 file the start script reads and that is
 * removed once the server runs (never on a command line). The backend then
 * logs in as that user and creates `postgres` in `admin` with the service's
 * `superuserPassword` (the core catalog's only secret; its dsn names "the
 * admin user and admin database"); a new password is set with updateUser,
 * so a rotation never locks the backend out.
 *
 * The binary: `ferretdb` on PATH, or the one `landform tools`
 * (cli/tools.ts ensureFerretdb) built into its cache.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ferretdbPath } from "../../../../cli/tools";
import type { Applied, Driver, Place, Target } from "./driver";
import type { MissingEngine } from "./finder";
import { MongoWire } from "./mongo-wire";
import { giveTo, makeReachable, type RunAs } from "./os-user";
import { hashSecrets } from "./postgres";
import { tail } from "./process";

/** The user the service's superuserPassword belongs to. */
export const FERRETDB_USER = "postgres";
/** The backend's own user, which creates and updates FERRETDB_USER. */
export const FERRETDB_ADMIN = "landform_admin";
const SETUP_FILE = "setup.env";
const ADMIN_SECRET_FILE = "admin.secret";

export interface FerretdbBinary {
  kind: "ferretdb";
  file: string;
  version: string;
  source: string;
}

let found: FerretdbBinary | MissingEngine | undefined;

/** The FerretDB binary, or how to get it; never throws. */
export function findFerretdb(): FerretdbBinary | MissingEngine {
  if (found) return found;
  const candidates = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => ({ file: path.join(dir, "ferretdb"), source: dir }));
  try {
    candidates.push({ file: ferretdbPath(), source: "landform tools cache" });
  } catch {
    // no tools/ferretdb in this installation
  }
  for (const c of candidates) {
    try {
      fs.accessSync(c.file, fs.constants.X_OK);
      const out = execFileSync(c.file, ["--version"], { encoding: "utf8", timeout: 10_000 });
      const version = /version: v?([0-9.]+)/.exec(out)?.[1];
      if (version) {
        found = { kind: "ferretdb", file: c.file, version, source: c.source };
        return found;
      }
    } catch {
      // not this one
    }
  }
  found = {
    kind: "missing",
    engine: "FerretDB",
    hint: "run `landform tools --ferretdb` once (it builds FerretDB into its cache) or put ferretdb on PATH",
  };
  return found;
}

export class FerretdbDriver implements Driver {
  readonly label: string;
  readonly version: string;
  readonly stopSignal = "SIGTERM";
  readonly processName = "ferretdb";

  constructor(private readonly bin: FerretdbBinary) {
    this.version = bin.version;
    this.label = `FerretDB ${bin.version}`;
  }

  pidFile(dir: string): string {
    return path.join(dir, "ferretdb.pid");
  }

  logFile(dir: string): string {
    return path.join(dir, "server.log");
  }

  async initialize(place: Place, _target: Target): Promise<void> {
    for (const sub of ["data", "state"]) {
      const dir = path.join(place.dir, sub);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      giveTo(place.runAs, dir);
    }
    const adminPassword = randomBytes(24).toString("base64url");
    fs.writeFileSync(path.join(place.dir, ADMIN_SECRET_FILE), adminPassword, { mode: 0o600 });
    // Read by the first start only: FerretDB creates the setup user when its storage is new.
    const file = path.join(place.dir, SETUP_FILE);
    const lines = [
      `FERRETDB_SETUP_USERNAME=${FERRETDB_ADMIN}`,
      `FERRETDB_SETUP_PASSWORD=${shellQuote(adminPassword)}`,
      `FERRETDB_SETUP_DATABASE=admin`,
    ];
    fs.writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
    giveTo(place.runAs, file);
  }

  command(place: Place, _target: Target): { file: string; args: string[] } {
    // The shell writes its pid (the server's, after exec) and hands over the setup values, if any.
    const script = 'echo $$ > "$1"; shift; if [ -f "$1" ]; then set -a; . "$1"; set +a; fi; shift; exec "$@"';
    return {
      file: "/bin/sh",
      args: [
        "-c",
        script,
        "ferretdb-start",
        this.pidFile(place.dir),
        path.join(place.dir, SETUP_FILE),
        this.runnable(place),
        `--listen-addr=127.0.0.1:${place.port}`,
        // Its metrics and profiling listener would take one fixed port for every service.
        "--debug-addr=",
        "--handler=sqlite",
        `--sqlite-url=file:${path.join(place.dir, "data")}/`,
        `--state-dir=${path.join(place.dir, "state")}`,
        "--telemetry=disable",
        "--log-level=warn",
        "--test-enable-new-auth",
      ],
    };
  }

  /**
   * The binary the server's user can run. Under root the servers run as an
   * unprivileged user, which cannot reach a tools cache in root's home; it
   * gets a copy beside the backend's engines (`<dataDir>/engine-bin`, not in
   * `engines/`, whose folders are all providers').
   */
  private runnable(place: Place): string {
    if (!place.runAs) return this.bin.file;
    const dir = path.join(path.resolve(place.dir, "..", "..", ".."), "engine-bin");
    const copy = path.join(dir, `ferretdb-${this.version}`);
    if (!fs.existsSync(copy) || fs.statSync(copy).size !== fs.statSync(this.bin.file).size) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      fs.copyFileSync(this.bin.file, `${copy}.tmp`);
      fs.chmodSync(`${copy}.tmp`, 0o755);
      fs.renameSync(`${copy}.tmp`, copy);
    }
    makeReachable(place.runAs as RunAs, dir);
    return copy;
  }

  async ready(place: Place, timeoutMs: number, exited: () => boolean): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      if (exited()) throw new Error(`FerretDB exited while starting: ${tail(this.logFile(place.dir))}`);
      try {
        await hello(place.port, Math.max(MIN_ATTEMPT_MS, Math.min(HELLO_TIMEOUT_MS, deadline - Date.now())));
        return this.version;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) throw new Error(`FerretDB did not answer in time: ${last}`);
      await sleep(100);
    }
  }

  async configure(
    place: Place,
    target: Target,
    previous: Applied | undefined,
  ): Promise<{ applied: Applied; restart: boolean }> {
    // The server has started with the setup values: the admin user exists, the file has done its work.
    fs.rmSync(path.join(place.dir, SETUP_FILE), { force: true });
    const secretsHash = hashSecrets(target.secrets);
    if (previous?.secretsHash !== secretsHash) {
      const pwd = String(target.secrets.superuserPassword ?? "");
      const c = await MongoWire.connect(place.port);
      try {
        await c.login(FERRETDB_ADMIN, fs.readFileSync(path.join(place.dir, ADMIN_SECRET_FILE), "utf8"));
        let answer = await c.command("admin", { createUser: FERRETDB_USER, pwd, roles: [] });
        // Made by a converge cut short, or there since before a rotation: set the password instead.
        if (answer.ok !== 1 && answer.code === 51003) {
          answer = await c.command("admin", { updateUser: FERRETDB_USER, pwd });
        }
        if (answer.ok !== 1)
          throw new Error(`FerretDB refused to set the user's password: ${String(answer.errmsg)}`);
      } finally {
        c.close();
      }
    }
    return { applied: { secretsHash, settings: {} }, restart: false };
  }

  settings(_target: Target): Record<string, string> {
    return {};
  }
}

/**
 * The longest readiness attempt, and the shortest even when the start's
 * deadline is nearly up: the port of a paused service may have been taken by
 * a program that accepts and never answers, and that must end the start by
 * its deadline.
 */
const HELLO_TIMEOUT_MS = 2_000;
const MIN_ATTEMPT_MS = 100;

/** Says `hello` and waits for an OP_MSG answer, `timeoutMs` at most for each step. */
async function hello(port: number, timeoutMs: number): Promise<void> {
  const c = await MongoWire.connect(port, "127.0.0.1", { connectMs: timeoutMs, replyMs: timeoutMs });
  try {
    await c.command("admin", { hello: 1 });
  } finally {
    c.close();
  }
}

function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}
