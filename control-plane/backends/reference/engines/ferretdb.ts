/**
 * The FerretDB engine: one FerretDB v1 server per `ferretdb` service, the
 * MongoDB wire protocol on its own 127.0.0.1 port, its documents in SQLite
 * files in the service folder (so they survive pause, resume and restarts).
 *
 * Authentication is FerretDB's own SCRAM users ("new authentication"): the
 * first start creates the user `postgres` in `admin` with the service's
 * `superuserPassword` (the core catalog's only secret; its dsn names "the
 * admin user and admin database"). The password reaches the server in its
 * environment through a 0600 file the start script reads, removed once the
 * server has started with it, never on a command line.
 *
 * The binary: `ferretdb` on PATH, or the one `landform tools`
 * (cli/tools.ts ensureFerretdb) built into its cache.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ferretdbPath } from "../../../../cli/tools";
import type { Applied, Driver, Place, Target } from "./driver";
import type { MissingEngine } from "./finder";
import { giveTo, makeReachable, type RunAs } from "./os-user";
import { hashSecrets } from "./postgres";
import { tail } from "./process";

/** The user the service's superuserPassword belongs to. */
export const FERRETDB_USER = "postgres";
const SETUP_FILE = "setup.env";

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

  async initialize(place: Place, target: Target): Promise<void> {
    for (const sub of ["data", "state"]) {
      const dir = path.join(place.dir, sub);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      giveTo(place.runAs, dir);
    }
    // Read by the first start only: FerretDB creates the user when its storage is new.
    const file = path.join(place.dir, SETUP_FILE);
    const lines = [
      `FERRETDB_SETUP_USERNAME=${shellQuote(FERRETDB_USER)}`,
      `FERRETDB_SETUP_PASSWORD=${shellQuote(String(target.secrets.superuserPassword ?? ""))}`,
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
        await hello(place.port);
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
    // The server has started with the setup values: the user exists, the file has done its work.
    fs.rmSync(path.join(place.dir, SETUP_FILE), { force: true });
    const secretsHash = hashSecrets(target.secrets);
    if (previous && previous.secretsHash !== secretsHash) {
      throw new Error(
        "secrets.superuserPassword: this engine cannot change the password of a running FerretDB yet; the old one still applies",
      );
    }
    return { applied: { secretsHash, settings: {} }, restart: false };
  }

  settings(_target: Target): Record<string, string> {
    return {};
  }
}

/** Sends OP_MSG `{hello: 1, $db: "admin"}` and waits for an OP_MSG answer. */
function hello(port: number): Promise<void> {
  const doc = Buffer.from([
    ...int32(0), // length, set below
    0x10,
    ...Buffer.from("hello\0"),
    ...int32(1),
    0x02,
    ...Buffer.from("$db\0"),
    ...int32(6),
    ...Buffer.from("admin\0"),
    0x00,
  ]);
  doc.writeInt32LE(doc.length, 0);
  const msg = Buffer.concat([
    Buffer.from([...int32(21 + doc.length), ...int32(1), ...int32(0), ...int32(2013), ...int32(0), 0]),
    doc,
  ]);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer to hello"));
    }, 2_000);
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("data", (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 16 && got.length >= got.readInt32LE(0)) {
        clearTimeout(timer);
        socket.destroy();
        if (got.readInt32LE(12) === 2013) resolve();
        else reject(new Error("not an OP_MSG answer"));
      }
    });
    socket.write(msg);
  });
}

function int32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return [...b];
}

function shellQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}
