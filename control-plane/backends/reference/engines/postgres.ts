/**
 * The PostgreSQL engine: one server per service, of the major the service
 * asked for, in `<service dir>/pgdata`, listening on 127.0.0.1 only (no Unix
 * socket: the distribution's socket folder belongs to another user).
 *
 * - initdb with SCRAM for every connection and an internal superuser,
 *   `landform_admin`, whose generated password stays in the service folder
 *   (mode 0600) and is how the backend itself connects.
 * - The service's role, password and database come from its secrets and
 *   config (`Credentials`). Passwords are sent as SCRAM verifiers computed
 *   here, so the plain password never reaches the server, its logs or
 *   `pg_stat_activity`.
 * - Settings derived from the plan (memory, cpu) and config
 *   (`max_connections`) are written to `landform.conf` for each start and,
 *   when they change on a running server, applied with ALTER SYSTEM; the
 *   parameter's `pg_settings.context` decides between reload and restart.
 */
import { spawn } from "node:child_process";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { Applied, Driver, Place, Target } from "./driver";
import type { PostgresBinaries } from "./finder";
import { giveTo } from "./os-user";
import { archiveSettings, isRestored } from "./pg-backup";
import { tail } from "./process";

/** The role the backend connects as; never handed out. */
export const ADMIN_ROLE = "landform_admin";
const ADMIN_SECRET_FILE = "admin.secret";
const CONNECT_TIMEOUT_MS = 5_000;
/** Long enough for any statement the backend sends (roles, databases, settings). */
const QUERY_TIMEOUT_MS = 30_000;
/** The shortest readiness attempt, even when the start's deadline is nearly up. */
const MIN_ATTEMPT_MS = 100;

/** Who the service's users are: read from its secrets and config by the provider's mapping. */
export interface Credentials {
  user: string;
  password: string;
  database: string;
  /** Password of the `postgres` superuser, when the service has one. */
  superuserPassword?: string;
}

export class PostgresDriver implements Driver {
  readonly label: string;
  readonly version: string;
  readonly stopSignal = "SIGINT"; // "fast" shutdown: ends sessions, writes a checkpoint, keeps the data
  readonly processName = "postgres";

  constructor(
    private readonly bin: PostgresBinaries,
    private readonly credentials: (t: Target) => Credentials,
  ) {
    this.label = `PostgreSQL ${bin.major}`;
    this.version = bin.version;
  }

  pidFile(dir: string): string {
    return path.join(dir, "pgdata", "postmaster.pid");
  }

  logFile(dir: string): string {
    return path.join(dir, "server.log");
  }

  async initialize(place: Place, _target: Target): Promise<void> {
    const pgdata = path.join(place.dir, "pgdata");
    // Restored from a backup (./pg-backup.ts): the data and the backend's password are in place already.
    if (isRestored(place.dir)) return;
    fs.rmSync(pgdata, { recursive: true, force: true });
    const password = randomBytes(24).toString("base64url");
    fs.writeFileSync(path.join(place.dir, ADMIN_SECRET_FILE), password, { mode: 0o600 });
    // initdb reads the password from a file the engine user can read; it goes right after.
    const pwfile = path.join(place.dir, "initdb.pw");
    fs.writeFileSync(pwfile, password, { mode: 0o600 });
    giveTo(place.runAs, pwfile);
    try {
      await run(
        path.join(this.bin.binDir, "initdb"),
        [
          "-D",
          pgdata,
          "-U",
          ADMIN_ROLE,
          `--pwfile=${pwfile}`,
          "--auth=scram-sha-256",
          "-E",
          "UTF8",
          "--locale=C",
          "--no-sync",
        ],
        place,
        this.logFile(place.dir),
      );
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
    fs.appendFileSync(path.join(pgdata, "postgresql.conf"), "\ninclude_if_exists = 'landform.conf'\n");
  }

  command(place: Place, target: Target): { file: string; args: string[] } {
    const pgdata = path.join(place.dir, "pgdata");
    const lines = [
      "# Written by the Landform reference backend at every start; changes go through ALTER SYSTEM.",
      "listen_addresses = '127.0.0.1'",
      `port = ${place.port}`,
      "unix_socket_directories = ''",
      "password_encryption = 'scram-sha-256'",
      "logging_collector = off",
      // A failing statement is not echoed to the log: it could carry a password verifier.
      "log_min_error_statement = panic",
      // WAL goes to a spool the backend ships to the backup store (./pg-backup.ts).
      ...archiveSettings(place.dir, place.runAs),
      ...Object.entries(this.settings(target)).map(([k, v]) => `${k} = '${v}'`),
    ];
    const file = path.join(pgdata, "landform.conf");
    fs.writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
    giveTo(place.runAs, file);
    return { file: path.join(this.bin.binDir, "postgres"), args: ["-D", pgdata] };
  }

  async ready(place: Place, timeoutMs: number, exited: () => boolean): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      if (exited()) throw new Error(`${this.label} exited while starting: ${tail(this.logFile(place.dir))}`);
      // Each attempt ends by the start's deadline, the connection and the query alike: the port of a
      // paused service may have been taken by a program that accepts and never answers.
      const attemptMs = Math.max(MIN_ATTEMPT_MS, Math.min(CONNECT_TIMEOUT_MS, deadline - Date.now()));
      try {
        return await this.withAdmin(
          place,
          async (c) => {
            const r = await c.query<{ server_version: string }>("SHOW server_version");
            return r.rows[0]!.server_version.split(" ")[0]!;
          },
          attemptMs,
        );
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) throw new Error(`${this.label} did not accept connections in time: ${last}`);
      await sleep(100);
    }
  }

  async configure(
    place: Place,
    target: Target,
    previous: Applied | undefined,
  ): Promise<{ applied: Applied; restart: boolean }> {
    const secretsHash = hashSecrets(target.secrets);
    const settings = this.settings(target);
    let restart = false;
    await this.withAdmin(place, async (c) => {
      if (previous?.secretsHash !== secretsHash) await this.applyCredentials(c, this.credentials(target));
      const changed = Object.keys(settings).filter(
        (k) => previous !== undefined && previous.settings[k] !== settings[k],
      );
      if (changed.length === 0) return;
      for (const name of changed) {
        await c.query(`ALTER SYSTEM SET ${c.escapeIdentifier(name)} = ${c.escapeLiteral(settings[name]!)}`);
      }
      const contexts = await c.query<{ name: string; context: string }>(
        "SELECT name, context FROM pg_settings WHERE name = ANY($1)",
        [changed],
      );
      // 'postmaster' parameters only take effect at server start; the others on reload.
      restart = contexts.rows.some((r) => r.context === "postmaster");
      if (!restart) await c.query("SELECT pg_reload_conf()");
    });
    return { applied: { secretsHash, settings }, restart };
  }

  settings(target: Target): Record<string, string> {
    const memory = target.spec.parameters.memory ?? 512;
    const cpu = target.spec.parameters.cpu ?? 10;
    const maxConnections = Number.parseInt(String(target.config.max_connections ?? "100"), 10) || 100;
    const vcpus = Math.max(1, Math.ceil(cpu / 10));
    return {
      max_connections: String(maxConnections),
      shared_buffers: `${Math.max(16, Math.floor(memory / 4))}MB`,
      effective_cache_size: `${Math.max(32, Math.floor((memory * 3) / 4))}MB`,
      maintenance_work_mem: `${Math.max(16, Math.floor(memory / 16))}MB`,
      work_mem: `${Math.max(1024, Math.floor((memory * 1024) / (4 * maxConnections)))}kB`,
      max_parallel_workers: String(vcpus),
      max_parallel_workers_per_gather: String(Math.floor(vcpus / 2)),
    };
  }

  private async applyCredentials(c: pg.Client, cred: Credentials): Promise<void> {
    await ensureRole(c, cred.user, cred.password, false);
    if (cred.superuserPassword) await ensureRole(c, "postgres", cred.superuserPassword, true);
    const exists = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [cred.database]);
    if (exists.rowCount === 0) {
      await c.query(
        `CREATE DATABASE ${c.escapeIdentifier(cred.database)} OWNER ${c.escapeIdentifier(cred.user)}`,
      );
    } else {
      await c.query(
        `ALTER DATABASE ${c.escapeIdentifier(cred.database)} OWNER TO ${c.escapeIdentifier(cred.user)}`,
      );
    }
  }

  /** `timeoutMs` bounds the connection and, when given, each query; otherwise QUERY_TIMEOUT_MS does. */
  private async withAdmin<T>(place: Place, fn: (c: pg.Client) => Promise<T>, timeoutMs?: number): Promise<T> {
    const client = new pg.Client({
      host: "127.0.0.1",
      port: place.port,
      user: ADMIN_ROLE,
      password: fs.readFileSync(path.join(place.dir, ADMIN_SECRET_FILE), "utf8"),
      database: "postgres",
      connectionTimeoutMillis: timeoutMs ?? CONNECT_TIMEOUT_MS,
      query_timeout: timeoutMs ?? QUERY_TIMEOUT_MS,
    });
    // An error after connect (the server going away) must not become an uncaught exception.
    client.on("error", () => {});
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  }
}

async function ensureRole(c: pg.Client, name: string, password: string, superuser: boolean): Promise<void> {
  const verifier = scramVerifier(password);
  const exists = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name]);
  const attrs = superuser ? "LOGIN SUPERUSER" : "LOGIN";
  const verb = exists.rowCount === 0 ? "CREATE" : "ALTER";
  await c.query(
    `${verb} ROLE ${c.escapeIdentifier(name)} WITH ${attrs} PASSWORD ${c.escapeLiteral(verifier)}`,
  );
}

/**
 * A SCRAM-SHA-256 verifier in PostgreSQL's format (RFC 5802/7677): what the
 * server stores, from which the password cannot be read back. Passwords are
 * used as given (SASLprep only changes non-ASCII input).
 */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

export function hashSecrets(secrets: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(secrets).sort(([a], [b]) => a.localeCompare(b)));
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex");
}

/** Runs a tool to completion as the engine user, its output appended to the service's log. */
function run(file: string, args: string[], place: Place, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, "a", 0o600);
    const child = spawn(file, args, {
      cwd: place.dir,
      stdio: ["ignore", out, out],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
      ...(place.runAs ? { uid: place.runAs.uid, gid: place.runAs.gid } : {}),
    });
    fs.closeSync(out);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(file)} failed (${signal ?? `exit ${code}`}): ${tail(logFile)}`));
    });
  });
}
