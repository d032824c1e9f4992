/**
 * The Redis engine: one `redis-server` per service on 127.0.0.1, its data
 * (append-only file plus RDB snapshots) in the service folder, so keys survive
 * pause, resume and restarts of the backend.
 *
 * Clients authenticate as the default user with the service's password
 * (`requirepass`); the backend itself uses an ACL user of its own,
 * `landform_admin`, with a generated password kept in the folder (0600), so a
 * password rotation (CONFIG SET requirepass) never locks the backend out.
 * `maxmemory` comes from the plan, `maxmemory-policy` from the config; both
 * change on a running server with CONFIG SET.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Applied, Driver, Place, Target } from "./driver";
import type { RedisBinary } from "./finder";
import { giveTo } from "./os-user";
import { hashSecrets } from "./postgres";
import { tail } from "./process";
import { RespClient } from "./resp";

export const REDIS_ADMIN = "landform_admin";
const ADMIN_SECRET_FILE = "admin.secret";

export class RedisDriver implements Driver {
  readonly label = "Redis";
  readonly version: string;
  readonly stopSignal = "SIGTERM"; // Redis flushes its append-only file and exits
  readonly processName = "redis-server";

  constructor(private readonly bin: RedisBinary) {
    this.version = bin.version;
  }

  pidFile(dir: string): string {
    return path.join(dir, "redis.pid");
  }

  logFile(dir: string): string {
    return path.join(dir, "server.log");
  }

  async initialize(place: Place, _target: Target): Promise<void> {
    const data = path.join(place.dir, "data");
    fs.mkdirSync(data, { recursive: true, mode: 0o700 });
    giveTo(place.runAs, data);
    fs.writeFileSync(path.join(place.dir, ADMIN_SECRET_FILE), randomBytes(24).toString("base64url"), {
      mode: 0o600,
    });
  }

  command(place: Place, target: Target): { file: string; args: string[] } {
    const settings = this.settings(target);
    const lines = [
      "# Written by the Landform reference backend at every start.",
      "bind 127.0.0.1",
      `port ${place.port}`,
      "protected-mode yes",
      "daemonize no",
      `pidfile ${this.pidFile(place.dir)}`,
      'logfile ""',
      `dir ${path.join(place.dir, "data")}`,
      "appendonly yes",
      "appendfsync everysec",
      "save 3600 1 300 100 60 10000",
      `requirepass ${quote(String(target.secrets.password ?? ""))}`,
      `user ${REDIS_ADMIN} on >${this.adminPassword(place)} ~* &* +@all`,
      ...Object.entries(settings).map(([k, v]) => `${k} ${v}`),
    ];
    const file = path.join(place.dir, "redis.conf");
    // The file holds passwords: readable by the server's user only.
    fs.writeFileSync(file, `${lines.join("\n")}\n`, { mode: 0o600 });
    giveTo(place.runAs, file);
    return { file: this.bin.file, args: [file] };
  }

  async ready(place: Place, timeoutMs: number, exited: () => boolean): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      if (exited()) throw new Error(`Redis exited while starting: ${tail(this.logFile(place.dir))}`);
      try {
        return await this.withAdmin(place, async (c) => {
          const info = String(await c.call("INFO", "server"));
          return /redis_version:([0-9.]+)/.exec(info)?.[1] ?? this.version;
        });
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) throw new Error(`Redis did not accept connections in time: ${last}`);
      await sleep(50);
    }
  }

  async configure(
    place: Place,
    target: Target,
    previous: Applied | undefined,
  ): Promise<{ applied: Applied; restart: boolean }> {
    const secretsHash = hashSecrets(target.secrets);
    const settings = this.settings(target);
    await this.withAdmin(place, async (c) => {
      if (previous && previous.secretsHash !== secretsHash) {
        await c.call("CONFIG", "SET", "requirepass", String(target.secrets.password ?? ""));
      }
      for (const [name, value] of Object.entries(settings)) {
        if (previous && previous.settings[name] !== value) await c.call("CONFIG", "SET", name, value);
      }
    });
    return { applied: { secretsHash, settings }, restart: false };
  }

  settings(target: Target): Record<string, string> {
    const memory = target.spec.parameters.memory ?? 256;
    return {
      maxmemory: `${memory}mb`,
      "maxmemory-policy": String(target.config.maxmemoryPolicy ?? "noeviction"),
    };
  }

  private adminPassword(place: Place): string {
    return fs.readFileSync(path.join(place.dir, ADMIN_SECRET_FILE), "utf8");
  }

  private async withAdmin<T>(place: Place, fn: (c: RespClient) => Promise<T>): Promise<T> {
    const c = await RespClient.connect(place.port);
    try {
      await c.call("AUTH", REDIS_ADMIN, this.adminPassword(place));
      return await fn(c);
    } finally {
      c.close();
    }
  }
}

/** A value in redis.conf: double-quoted with escapes, so any password is read back as given. */
function quote(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`;
}
