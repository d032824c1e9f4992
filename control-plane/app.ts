/**
 * Assembles the reference control plane: store and vault in the data dir, the
 * bundled reference backends on loopback, the catalog, the service layer, the
 * reconciler and the HTTP API. `landform serve` is a thin shell around this.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { TokenTable } from "./api/auth";
import { answerClientError } from "./api/client-error";
import { builtConsoleDir, consoleRoutes, loadConsoleFiles, SignInCodes } from "./api/console";
import { Idempotency } from "./api/idempotency";
import { createApiHandler } from "./api/server";
import { handleTestClock, TEST_CLOCK_PATH } from "./api/test-clock";
import { bundledCatalog } from "./backends/catalog";
import { startReferenceBackends } from "./backends/reference/index";
import { ManagedServices } from "./domain/managed-services";
import { Catalog } from "./domain/providers";
import { renderHealthMetrics } from "./reconciler/health-watch";
import { defaultReplicaId, type Leases, LocalLeases, renderLeaseMetrics } from "./reconciler/leases";
import { PgLeases } from "./reconciler/leases-pg";
import { Reconciler } from "./reconciler/reconciler";
import { Store } from "./store/store";
import { Vault } from "./store/vault";

export interface ControlPlaneOptions {
  dataDir: string;
  /**
   * A PostgreSQL URL (`postgres://` or `postgresql://`) to keep the state in,
   * shared by replicas; without one the embedded SQLite store in `dataDir`.
   */
  database?: string;
  /** Names this process in lease rows, logs and metrics (default hostname-pid-random; unique per replica). */
  replicaId?: string;
  /** How long a replica's lease on a service lasts without renewal (default 15 s): how soon a dead replica's work moves. */
  leaseTtlMs?: number;
  host?: string;
  port?: number;
  /**
   * The accepted bearer tokens and their grants (`loadTokens` in api/auth reads
   * them from flags, files and the environment). Empty: a development token for
   * team 1 is made (once, kept sealed in the data dir).
   */
  tokens?: TokenTable;
  /** The vault's key ring inline (base64 32-byte keys, active first; see store/vault.ts). */
  vaultKey?: string;
  /** A file holding the key ring. Neither given: `vault.key` in the data dir (0600), made on first start. */
  vaultKeyFile?: string;
  /** Serve the bundled reference backends (default true) and how long each of their operations takes. */
  backends?: { enabled?: boolean; port?: number; operationDelayMs?: number; key?: string };
  /** Lets tests move time forward: `POST /_landform/clock {"advanceMs": N}`. */
  testClock?: boolean;
  /** "changes" (default): access-log writes and errors only; "all": every request. */
  accessLog?: "all" | "changes";
  /** Where the built web console is (default: this package's dist/console); false: no console at `/`. */
  consoleDir?: string | false;
  log?: (rec: Record<string, unknown>) => void;
}

export interface RunningControlPlane {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 (the API is under /api). */
  url: string;
  apiUrl: string;
  backendsUrl?: string;
  /** The development token, when it was made by this start (printed once). */
  createdDevToken?: string;
  /**
   * The console's address with a one-time sign-in code for `token` (default:
   * the development token) in its fragment, which never reaches a server log
   * (docs/console.md). Undefined when there is no such token.
   */
  consoleSignInUrl(token?: string): string | undefined;
  now(): number;
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

const DEV_TOKEN_KEY = "dev-token";
const BACKEND_KEY = "reference-backend-key";
/** Keys the hashes of tokens and bodies in the idempotency table; kept, so keys outlive a restart. */
const IDEMPOTENCY_SECRET_KEY = "idempotency-secret";

/** A secret made once and kept sealed in the store's metadata (the development token, the backend key). */
async function keptSecret(store: Store, vault: Vault, name: string, make: () => string): Promise<string> {
  const sealed = await store.meta(name);
  if (sealed) return vault.open<string>(sealed, name);
  const value = make();
  await store.setMeta(name, vault.seal(value, name));
  return value;
}

/** How long a /ready answer about the database is reused: a probe storm costs one query a second. */
const DB_CHECK_MS = 1_000;

export async function startControlPlane(options: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log = options.log ?? (() => {});
  let offset = 0;
  const now = () => Date.now() + offset;
  const store = await Store.open(
    { dataDir: options.dataDir, ...(options.database ? { database: options.database } : {}) },
    { onError: (err) => log({ level: "warn", msg: "database connection lost", error: err.message }) },
  );
  let vault: Vault;
  try {
    vault = Vault.open(options.dataDir, {
      ...(options.vaultKey ? { key: options.vaultKey } : {}),
      ...(options.vaultKeyFile ? { keyFile: options.vaultKeyFile } : {}),
      warn: (msg) => log({ level: "warn", msg }),
    });
    vault.checkKeysFor([
      ...(await store.allSealedSecrets()).map((r) => r.sealed),
      ...(await store.allMeta()).map((m) => m.value),
    ]);
  } catch (err) {
    await store.close(); // and with it the data dir's lock
    throw err;
  }
  log({ msg: "vault open", activeKeyId: vault.activeKeyId, keys: vault.keyIds.length });

  // Tokens: the configured ones, else one development token kept in the data dir.
  const tokens = options.tokens ?? new TokenTable();
  let createdDevToken: string | undefined;
  let devToken: string | undefined;
  if (tokens.size === 0) {
    const token = await keptSecret(store, vault, DEV_TOKEN_KEY, () => {
      createdDevToken = `lf_dev_${randomBytes(18).toString("base64url")}`;
      return createdDevToken;
    });
    tokens.add(token, { teams: new Set([1]), admin: false }, "the development token");
    devToken = token;
  }

  const catalog = new Catalog(store, vault, now);
  let backends: Awaited<ReturnType<typeof startReferenceBackends>> | undefined;
  if (options.backends?.enabled !== false) {
    const key =
      options.backends?.key ??
      (await keptSecret(store, vault, BACKEND_KEY, () => randomBytes(24).toString("base64url")));
    backends = await startReferenceBackends({
      dataDir: options.dataDir,
      host: "127.0.0.1",
      port: options.backends?.port ?? 0,
      key,
      // One clock for the whole process, so a test that moves time moves it for the backends too.
      now,
      ...(options.backends?.operationDelayMs !== undefined
        ? { operationDelayMs: options.backends.operationDelayMs }
        : {}),
      log,
    });
    for (const entry of bundledCatalog(backends.url, key)) await catalog.installBundled(entry);
  }

  const managedServices = new ManagedServices({
    store,
    vault,
    catalog,
    now,
    wake: (id) => reconciler.wake(id),
  });
  // Replicas on one PostgreSQL share the work through leases; the embedded store's process owns it all.
  const replicaId = options.replicaId ?? defaultReplicaId();
  const pool = store.pgPool;
  const leases: Leases = pool
    ? new PgLeases({
        pool,
        replicaId,
        clock: { now },
        ...(options.leaseTtlMs ? { ttlMs: options.leaseTtlMs } : {}),
      })
    : new LocalLeases(replicaId);
  const reconciler = new Reconciler({
    leases,
    store,
    vault,
    catalog,
    clock: { now },
    log,
    countOutcome: (o) => managedServices.countOutcome(o),
  });
  catalog.onChange = (name, version) => {
    reconciler.providerChanged(name, version).catch((err: unknown) => {
      log({ level: "error", msg: "could not queue the services of a changed provider", error: String(err) });
    });
  };

  let ready = false;
  // Ready means the database answers now, not only that it did at start.
  let dbChecked: { at: number; ok: Promise<boolean> } | undefined;
  const databaseAnswers = (): Promise<boolean> => {
    const t = performance.now();
    if (!dbChecked || t - dbChecked.at >= DB_CHECK_MS) {
      dbChecked = {
        at: t,
        ok: store.ping().then(
          () => true,
          (err: unknown) => {
            log({
              level: "warn",
              msg: "database does not answer",
              error: err instanceof Error ? err.message : String(err),
            });
            return false;
          },
        ),
      };
    }
    return dbChecked.ok;
  };
  const idempotencySecret = await keptSecret(store, vault, IDEMPOTENCY_SECRET_KEY, () =>
    randomBytes(32).toString("base64url"),
  );
  const consoleDir = options.consoleDir === undefined ? builtConsoleDir() : options.consoleDir || undefined;
  const consoleFiles = consoleDir ? loadConsoleFiles(consoleDir) : undefined;
  const signInCodes = new SignInCodes(tokens, now);
  const api = createApiHandler({
    providers: catalog,
    managedServices,
    stats: {
      servicesByState: () => managedServices.servicesByState(),
      reconcileOutcomes: () => managedServices.reconcileOutcomes(),
      extraMetrics: () => [
        ...renderHealthMetrics(reconciler.healthStats()),
        ...(leases.shared ? renderLeaseMetrics(replicaId, leases.stats()) : []),
      ],
    },
    tokens,
    log,
    ready: async () => ready && (await databaseAnswers()),
    accessLog: options.accessLog ?? "changes",
    extraRoutes: consoleRoutes({ files: consoleFiles, codes: signInCodes, tokens }),
    idempotency: new Idempotency({
      keys: store.idempotency,
      transaction: (fn) => store.transaction(fn),
      now,
      secret: Buffer.from(idempotencySecret, "base64url"),
    }),
  });
  // The API checks Host itself, so that the refusal is Problem JSON like every other (api/server.ts).
  const server = http.createServer({ requireHostHeader: false }, (req, res) => {
    if (options.testClock && req.method === "POST" && req.url === TEST_CLOCK_PATH) {
      const clock = {
        now,
        advance: (ms: number) => {
          offset += ms;
          reconciler.tick();
        },
      };
      handleTestClock(req, res, tokens, clock).catch((err: unknown) => {
        log({
          level: "error",
          msg: "test clock failed",
          error: err instanceof Error ? err.message : String(err),
        });
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    api(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.on("clientError", answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  await reconciler.start();
  // Retention by age for the logs of services that no longer write (store/event-log.ts).
  const pruneEvents = async () => {
    try {
      // Once per cluster: the replica holding the named lease sweeps.
      if (!(await reconciler.sharing.singleton("event-pruning"))) return;
      const count = await store.pruneEvents(now());
      if (count > 0) log({ msg: "events past their retention age dropped", count });
    } catch (err) {
      log({
        level: "warn",
        msg: "event retention sweep failed",
        error: err instanceof Error ? err.message : String(err),
      });
    }
  };
  await pruneEvents();
  const pruner = setInterval(() => void pruneEvents(), 3_600_000).unref();
  ready = true;
  log({
    msg: "control plane listening",
    url,
    dataDir: options.dataDir,
    store: store.kind,
    database: store.location,
    replicaId,
  });

  return {
    url,
    apiUrl: `${url}/api`,
    ...(backends ? { backendsUrl: backends.url } : {}),
    ...(createdDevToken ? { createdDevToken } : {}),
    consoleSignInUrl(token = devToken) {
      if (!consoleFiles || token === undefined) return undefined;
      return `${url}/#signin=${signInCodes.issue(token)}`;
    },
    now,
    advanceClock(ms: number) {
      offset += ms;
      reconciler.tick();
    },
    async close() {
      ready = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await reconciler.stop();
      await backends?.close();
      clearInterval(pruner);
      await store.close();
    },
  };
}
