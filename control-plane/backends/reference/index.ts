/**
 * The bundled reference backends: one HTTP server that serves every provider
 * of the bundled catalog (`../catalog.ts`) under `/api/v1/<provider>` and
 * speaks the provider backend contract, so the control plane drives them
 * exactly as it drives any custom backend. The routes and their extensions
 * are documented in `./server.ts`.
 *
 * `postgres`, `postgresql` and `redis` services run real servers, one per
 * service, under `<dataDir>/engines` (./engines); an operation on them ends
 * when the server has converged, and closing the backends stops the servers
 * (starting them again brings back every one that is not paused). The other
 * providers, and these where their binary is missing, are simulated:
 * operations are asynchronous (accepted at once, finished after
 * `operationDelayMs`), state is durable in the data folder, and each service
 * has a key-value data set that stands in for its data and survives pause,
 * resume and restarts. Backups are objects in the team's S3-compatible store,
 * and recovery reads them back (./store-backups.ts, ./store-recovery.ts); engine-backed services
 * are backed up from their servers: base backups and archived WAL, RDB
 * snapshots (./engines/engine-backups.ts, docs/backups.md).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Backups } from "./backups";
import { EngineManager } from "./engines";
import { EngineBackups } from "./engines/engine-backups";
import { FaultInjector } from "./faults";
import { referenceProfiles } from "./providers";
import { requestHandler } from "./server";
import { ReferenceStore } from "./store";
import { StoreBackups } from "./store-backups";
import { Tasks } from "./tasks";

export { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, type BackupObject } from "./backup-format";
export { type Backups, backupsNotImplemented } from "./backups";
export type { FaultSettings } from "./faults";
export { DATABASE_FILE } from "./store";

export interface ReferenceBackendOptions {
  /** Folder of `reference-backends.sqlite`; created if missing. */
  dataDir: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /**
   * Required: every call but GET /health and GET /ready needs it (X-API-Key or
   * Bearer), the admin and data endpoints included. The backends never run open.
   */
  key: string;
  /** How long create, update, pause and resume take. Default 50 ms. */
  operationDelayMs?: number;
  /** Clock in ms since the epoch. Default Date.now. */
  now?: () => number;
  /**
   * Receives one structured record per request and lifecycle event; never a
   * secret. (Typed with the narrower record so loggers of either shape fit.)
   */
  log?: (rec: Record<string, unknown>) => void;
  /** Random numbers in [0, 1) for `failRate` faults. Default Math.random. */
  random?: () => number;
  /** Backup implementation. Default: backups to the S3-compatible store each call names. */
  backups?: Backups;
  /**
   * Whether postgres, postgresql and redis services run real servers (default
   * true, or false when LANDFORM_ENGINES=simulated). False simulates every
   * provider: for tests of the simulated lifecycle, or where no servers are wanted.
   */
  engines?: boolean;
  /** How long one request to a backup store may take (default 15 s); then it counts as unreachable. */
  backupStoreTimeoutMs?: number;
}

export interface ReferenceBackends {
  /** Base URL; the provider endpoints are `${url}/api/v1/<provider>`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 2_000;
/** How long a shutdown waits for uploads, deletions and recoveries in flight. */
const TASKS_GRACE_MS = 10_000;

export async function startReferenceBackends(opts: ReferenceBackendOptions): Promise<ReferenceBackends> {
  // The type says so, but JavaScript callers and `as` casts get a clear refusal instead of open endpoints.
  if (typeof opts.key !== "string" || opts.key.trim() === "") {
    throw new Error("the reference backends need a key (options.key): they never run without one");
  }
  const host = opts.host ?? "127.0.0.1";
  const now = opts.now ?? Date.now;
  const store = new ReferenceStore(opts.dataDir);
  // Nothing survives a restart in flight: say so to whoever asks next.
  store.failInterrupted(now());
  let url = "";
  const log = opts.log;
  const record = (rec: Record<string, unknown>) =>
    log?.({ time: new Date(now()).toISOString(), component: "reference-backends", ...rec });
  const tasks = new Tasks((err) =>
    record({
      level: "error",
      msg: "background task failed",
      error: err instanceof Error ? err.name : "unknown",
    }),
  );
  const profiles = referenceProfiles();
  const engines = new EngineManager({
    enabled: opts.engines ?? process.env.LANDFORM_ENGINES !== "simulated",
    dataDir: opts.dataDir,
    log: record,
    target: (provider, id) => {
      const s = store.get(provider, id);
      const profile = profiles.get(provider);
      if (!s || !profile) return undefined;
      return { spec: s.desired, config: profile.effective(s.desired.config), secrets: s.secrets };
    },
    converged: (provider, id, target) => {
      store.completeOperation(provider, id, target.spec, target.secrets, now());
    },
  });
  for (const m of engines.missing()) {
    record({
      level: "warn",
      msg: "engine missing: its services are simulated",
      engine: m.engine,
      hint: m.hint,
    });
  }
  // Real servers' backups (base backups and WAL, RDB snapshots) wrap those of simulated data sets.
  const engineBackups = opts.backups
    ? undefined
    : new EngineBackups({
        inner: new StoreBackups({
          store,
          tasks,
          now,
          log: record,
          ...(opts.backupStoreTimeoutMs === undefined ? {} : { storeTimeoutMs: opts.backupStoreTimeoutMs }),
        }),
        store,
        tasks,
        engines,
        now,
        log: record,
      });
  const backups: Backups = opts.backups ?? engineBackups!;
  const server = http.createServer(
    requestHandler({
      store,
      profiles,
      engines,
      faults: new FaultInjector(opts.random),
      backups,
      tasks,
      key: opts.key,
      operationDelayMs: opts.operationDelayMs ?? 50,
      now,
      log: record,
      baseUrl: () => url,
    }),
  );

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    store.close();
    throw err;
  }
  // Every engine-backed service's server comes back; paused ones stay stopped.
  engines.restore(store.allServices());

  const port = (server.address() as AddressInfo).port;
  url = `http://${urlHost(host)}:${port}`;
  log?.({
    time: new Date(now()).toISOString(),
    component: "reference-backends",
    level: "info",
    msg: "listening",
    url,
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      // Let requests in flight finish, but do not wait on them for ever.
      const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      server.close(() => {
        clearTimeout(force);
        void tasks
          .drain(TASKS_GRACE_MS)
          .then(() => engineBackups?.close())
          .then(() => engines.close())
          .then(() => {
            store.close();
            resolve();
          });
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  return { url, port, close };
}

/** A host clients can connect to: a wildcard address means this machine. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
