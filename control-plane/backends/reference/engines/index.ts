/**
 * The real engines behind the reference backends: one queue per service
 * that brings its server to the service's stored desired state, one step at
 * a time. Which providers have an engine, and which driver runs it, is
 * ./kinds.ts's.
 *
 * - `postgres` v1 (its `config.version` picks the major) and `postgresql`
 *   v14 to v17 (the endpoint's version picks it) run PostgreSQL; `redis`
 *   runs Redis; `ferretdb` runs FerretDB (./ferretdb.ts); `s3` is a user and
 *   bucket on the backend's one S3 server (./s3.ts). Every other provider,
 *   and these when their binary is missing
 *   here, stay simulated (see ../providers.ts): `startReferenceBackends`
 *   warns once naming what is missing and how to get it.
 * - A service is engine-backed when its folder `engines/<provider>/<id>`
 *   holds `kind.json`, written when it is created; the choice never changes
 *   for the life of the service.
 * - `sync(provider, id)` queues a converge that reads the stored service:
 *   gone means stop and remove the folder, otherwise start, stop or
 *   reconfigure. A converge that fails is retried with backoff; a server
 *   that dies is started again the same way, and both are logged.
 */
import fs from "node:fs";
import path from "node:path";
import type { Values } from "../operations";
import type { Target } from "./driver";
import type { MissingEngine } from "./finder";
import { driverFor, type EngineKind, engineKind, missingEngines } from "./kinds";
import { engineUser, makeReachable, type RunAs } from "./os-user";
import { BucketEngine } from "./s3";
import { findGateway, S3Gateway } from "./s3-gateway";
import { type EngineStatus, ServiceEngine } from "./service-engine";

export { type EngineKind, engineKind } from "./kinds";
export type { EngineStatus } from "./service-engine";

export interface EngineManagerOptions {
  /** False: every service is simulated. */
  enabled: boolean;
  /** The backend's data folder; engines live in `<dataDir>/engines`. */
  dataDir: string;
  log: (rec: Record<string, unknown>) => void;
  /** The service as stored now, or undefined when it is gone. */
  target: (provider: string, id: string) => Target | undefined;
  /** Called when the server matches `target` (the operation in flight is done). */
  converged: (provider: string, id: string, target: Target) => void;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

interface Queue {
  again: boolean;
  failures: number;
  timer?: NodeJS.Timeout;
}

export class EngineManager {
  private readonly root: string;
  private readonly engines = new Map<string, ServiceEngine | BucketEngine>();
  /** The S3 server the s3 services share; made on first use. */
  private gateway: S3Gateway | undefined;
  /** provider/id -> its engine, or null for a simulated service (read once from kind.json). */
  private readonly kinds = new Map<string, EngineKind | null>();
  private readonly queues = new Map<string, Queue>();
  private readonly running = new Set<Promise<void>>();
  private runAs: RunAs | null | undefined;
  private closing = false;

  constructor(private readonly o: EngineManagerOptions) {
    this.root = path.join(o.dataDir, "engines");
  }

  /** The engines missing on this machine, each with how to get it (for the warning at start). */
  missing(): MissingEngine[] {
    return this.o.enabled ? missingEngines() : [];
  }

  /**
   * Decides at create whether the new service runs a real engine;
   * undefined means it stays simulated.
   */
  canRun(provider: string, config: Values, providerVersion: string | undefined): EngineKind | undefined {
    if (!this.o.enabled) return undefined;
    const kind = engineKind(provider, config, providerVersion);
    if (kind?.engine === "s3") return this.s3Gateway() ? kind : undefined;
    return kind && driverFor(provider, kind) ? kind : undefined;
  }

  /** Remembers that the new service runs on `kind` (from canRun); call once it is stored. */
  adopt(provider: string, id: string, kind: EngineKind): void {
    const dir = this.dir(provider, id);
    // A folder left by an earlier service of the same id (deleted while the backend was down) is stale.
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, "kind.json"), JSON.stringify(kind));
    this.kinds.set(key(provider, id), kind);
  }

  /** Whether the service runs a real engine. */
  backed(provider: string, id: string): boolean {
    return this.kind(provider, id) !== undefined;
  }

  /** The engine's state for `details`, or undefined for a simulated service. */
  status(
    provider: string,
    id: string,
  ):
    | (EngineStatus & { kind: EngineKind; label: string; endpoint?: string; bucket?: string | null })
    | undefined {
    const engine = this.engines.get(key(provider, id));
    const kind = this.kind(provider, id);
    if (!kind) return undefined;
    if (!engine) return { port: 0, live: false, restarts: 0, kind, label: "" };
    return { ...engine.status(), kind, label: engine.driver.label };
  }

  /** `<dataDir>/engines`: one folder per provider, one per service below it. */
  get enginesRoot(): string {
    return this.root;
  }

  /**
   * The service's folder, engine, port and whether its server is up, for
   * backups and restores (./engine-backups.ts); undefined for a simulated service.
   */
  place(
    provider: string,
    id: string,
  ): { dir: string; kind: EngineKind; port: number; live: boolean; runAs: RunAs | null } | undefined {
    const kind = this.kind(provider, id);
    if (!kind) return undefined;
    this.runAs ??= engineUser();
    const s = this.engines.get(key(provider, id))?.status();
    return {
      dir: this.dir(provider, id),
      kind,
      port: s?.port ?? 0,
      live: s?.live ?? false,
      runAs: this.runAs,
    };
  }

  /** Queues a converge of the service (after create, update, delete, a crash or a restart). */
  sync(provider: string, id: string): void {
    if (this.closing) return;
    const k = key(provider, id);
    const q = this.queues.get(k);
    if (q) {
      q.again = true;
      if (q.timer) {
        clearTimeout(q.timer);
        q.timer = undefined;
        this.run(provider, id, q);
      }
      return;
    }
    const fresh: Queue = { again: true, failures: 0 };
    this.queues.set(k, fresh);
    this.run(provider, id, fresh);
  }

  /** Starts the servers of every engine-backed service (after a restart of the backend); paused ones stay stopped. */
  restore(services: { provider: string; id: string }[]): void {
    for (const s of services) if (this.backed(s.provider, s.id)) this.sync(s.provider, s.id);
    // Folders of services the store no longer holds (deleted while a converge was cut short).
    if (!fs.existsSync(this.root)) return;
    const held = new Set(services.map((s) => key(s.provider, s.id)));
    for (const provider of fs.readdirSync(this.root)) {
      for (const name of fs.readdirSync(path.join(this.root, provider))) {
        const id = decodeURIComponent(name);
        if (!held.has(key(provider, id))) this.sync(provider, id);
      }
    }
  }

  /** Stops every server, keeping their data. */
  async close(): Promise<void> {
    this.closing = true;
    for (const q of this.queues.values()) if (q.timer) clearTimeout(q.timer);
    await Promise.allSettled([...this.running]);
    await Promise.allSettled([...this.engines.values()].map((e) => e.stop()));
    await this.gateway?.close();
  }

  private run(provider: string, id: string, q: Queue): void {
    const p = (async () => {
      while (q.again && !this.closing) {
        q.again = false;
        try {
          await this.convergeOnce(provider, id);
          q.failures = 0;
        } catch (err) {
          q.failures += 1;
          const message = err instanceof Error ? err.message : String(err);
          const engine = this.engines.get(key(provider, id));
          if (engine) engine.error = message;
          const delay = Math.min(RETRY_MIN_MS * 2 ** (q.failures - 1), RETRY_MAX_MS);
          this.o.log({
            level: "warn",
            msg: "engine converge failed; retrying",
            provider,
            id,
            error: message,
            retryInMs: delay,
          });
          if (!this.closing) {
            q.timer = setTimeout(() => {
              q.timer = undefined;
              q.again = true;
              this.run(provider, id, q);
            }, delay);
            q.timer.unref();
          }
          return;
        }
      }
      this.queues.delete(key(provider, id));
    })();
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async convergeOnce(provider: string, id: string): Promise<void> {
    const k = key(provider, id);
    const target = this.o.target(provider, id);
    if (!target) {
      const engine = this.engines.get(k) ?? (await this.open(provider, id));
      if (engine) await engine.destroy();
      else fs.rmSync(this.dir(provider, id), { recursive: true, force: true });
      this.engines.delete(k);
      this.kinds.delete(k);
      this.o.log({ level: "info", msg: "engine removed", provider, id });
      return;
    }
    const engine = this.engines.get(k) ?? (await this.open(provider, id));
    if (!engine) return;
    const wasLive = engine.status().live;
    await engine.converge(target);
    const now = engine.status();
    if (now.live !== wasLive) {
      this.o.log({
        level: "info",
        msg: now.live ? "engine started" : "engine stopped",
        provider,
        id,
        engine: engine.driver.label,
        ...(now.live ? { port: now.port, serverVersion: now.serverVersion } : {}),
      });
    }
    this.o.converged(provider, id, target);
  }

  private async open(provider: string, id: string): Promise<ServiceEngine | BucketEngine | undefined> {
    const kind = this.kind(provider, id);
    if (!kind) return undefined;
    if (kind.engine === "s3") {
      const gateway = this.s3Gateway();
      if (!gateway)
        throw new Error("no S3 server on this machine: run `landform tools` or set LANDFORM_S3_ENDPOINT");
      const bucket = BucketEngine.open(this.dir(provider, id), gateway);
      this.engines.set(key(provider, id), bucket);
      return bucket;
    }
    const driver = driverFor(provider, kind);
    if (!driver) {
      throw new Error(
        `${kind.engine === "postgres" ? `PostgreSQL ${kind.major}` : kind.engine === "redis" ? "Redis" : "FerretDB"} is not installed on this machine`,
      );
    }
    this.runAs ??= engineUser();
    const providerDir = path.dirname(this.dir(provider, id));
    fs.mkdirSync(providerDir, { recursive: true });
    makeReachable(this.runAs, providerDir);
    const engine = await ServiceEngine.open(this.dir(provider, id), driver, this.runAs, (crash) => {
      const how = crash.signal ? `signal ${crash.signal}` : `exit code ${crash.code}`;
      engine.error = `${driver.label} server exited unexpectedly (${how}); the backend is starting it again`;
      engine.countRestart();
      this.o.log({
        level: "warn",
        msg: "engine exited unexpectedly; restarting",
        provider,
        id,
        engine: driver.label,
        exit: how,
      });
      this.sync(provider, id);
    });
    this.engines.set(key(provider, id), engine);
    return engine;
  }

  private kind(provider: string, id: string): EngineKind | undefined {
    const k = key(provider, id);
    let kind = this.kinds.get(k);
    if (kind === undefined) {
      try {
        kind = JSON.parse(
          fs.readFileSync(path.join(this.dir(provider, id), "kind.json"), "utf8"),
        ) as EngineKind;
      } catch {
        kind = null;
      }
      this.kinds.set(k, kind);
    }
    return kind ?? undefined;
  }

  /** The shared S3 server, or undefined when there is none to start or use. */
  private s3Gateway(): S3Gateway | undefined {
    if (this.gateway) return this.gateway;
    const source = findGateway();
    if (source.kind === "missing") return undefined;
    // Beside engines/, not in it: every folder in engines/ is a provider's.
    this.gateway = new S3Gateway(source, path.join(this.o.dataDir, "s3-gateway"), this.o.log, () => {
      // The server died: converge every s3 service, which starts it again.
      for (const k of this.engines.keys()) {
        const [p, ...rest] = k.split("/");
        if (p === "s3") this.sync(p, rest.join("/"));
      }
    });
    return this.gateway;
  }

  private dir(provider: string, id: string): string {
    // Ids are UUIDs from the control plane; anything else is encoded so it stays one folder name.
    return path.join(this.root, provider, encodeURIComponent(id));
  }
}

function key(provider: string, id: string): string {
  return `${provider}/${id}`;
}
