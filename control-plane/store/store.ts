/**
 * Durable state of the control plane: the catalog, each managed service's
 * desired and observed state, its event log, and sealed secrets.
 *
 * One asynchronous store over two databases (store/db.ts): embedded SQLite
 * in the data dir (the default; WAL, synchronous=NORMAL: a crash may lose the
 * last few milliseconds of commits, never corrupt them), or PostgreSQL
 * (`landform serve --database postgres://...`), which several replicas share.
 * Both run the same SQL and the same migrations (store/migrations.ts); see
 * docs/decisions/003-embedded-storage.md and 012-async-store-postgres.md.
 *
 * The store reads from the database every time: no copy of the records in
 * memory, so a write through one replica is read through any other at once.
 * Two things keep reads cheap: each service row carries its API view as JSON
 * text (column `view`, written with the record) that GET sends as is, and the
 * parsed catalog is kept until the catalog's revision (a meta row bumped by
 * every provider write) changes, one indexed lookup per use. On PostgreSQL
 * the GETs' view reads of one event-loop turn share one statement
 * (view-reads.ts).
 *
 * Every multi-statement write runs in one `transaction()`; transactions nest
 * by joining the outermost one. A service write is a compare-and-set on its
 * revision: a writer holding an older revision gets StaleRecordError.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type Database from "better-sqlite3";
import type pg from "pg";
import type * as schemas from "../../sdk/schemas";
import type { Db } from "./db";
import { DEFAULT_EVENT_RETENTION, EventLog, type EventRetention } from "./event-log";
import { IdempotencyKeys } from "./idempotency";
import { lockDataDir } from "./lock";
import { migrate } from "./migrations";
import { PostgresDb, redactUrl } from "./postgres-db";
import type { SecretKind, ServiceRecord, StoredProvider } from "./records";
import { type SealedSecret, ServiceWrites } from "./service-writes";
import { SqliteDb } from "./sqlite-db";
import { openSqlite } from "./sqlite-open";
import { parse, type RecordRow, SQL } from "./store-sql";
import { BatchedViews, type ServiceView } from "./view-reads";
import { type WatchedService, type WatchRow, watchedService, watchOf } from "./watch";

export type { EventRetention } from "./event-log";
export type { BackupRecord, BackupSettings, SecretKind, ServiceRecord, StoredProvider } from "./records";
export { NameTakenError, type SealedSecret, StaleRecordError } from "./service-writes";
export type { WatchedService } from "./watch";

export interface StoreOptions {
  /** How many events to keep per service and for how long (default 1,000 and 30 days). */
  eventRetention?: Partial<EventRetention>;
  /** PostgreSQL only: the pool's size (default 10). */
  poolSize?: number;
  /** PostgreSQL only: where errors of idle pooled connections go. */
  onError?: (err: Error) => void;
}

export const DATABASE_FILE = "control-plane.sqlite";
/** Advisory lock key under which PostgreSQL replicas take turns migrating ("landform" in ASCII, cut to 31 bits). */
const MIGRATION_LOCK = 0x6c616e64;
const CATALOG_REV = "catalog-rev";

/** Whether `database` names a PostgreSQL database (`postgres://` or `postgresql://`). */
export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

export class Store {
  private readonly eventLog: EventLog;
  /** Answers of keyed writes (Idempotency-Key); record them in the write's own transaction. */
  readonly idempotency: IdempotencyKeys;
  private catalog: { rev: string | undefined; list: StoredProvider[] } | undefined;
  /** PostgreSQL: this turn's shared read of the catalog's revision (catalogRev). */
  private revRead: Promise<string | undefined> | undefined;
  /**
   * SQLite only: API views by id as last committed, so GET answers from memory.
   * Safe because the data dir lock makes this process the only writer; never
   * on PostgreSQL, where another replica may have written since. Filled only
   * by reads outside a transaction (they see committed rows), dropped on
   * every write of the service.
   */
  private readonly views: Map<string, ServiceView> | undefined;
  /** Bumped by every service write: a view read while one happened is not cached (it may be stale). */
  private serviceWriteCount = 0;
  private readonly serviceWrites: ServiceWrites;
  /** PostgreSQL only: GETs' view reads, batched per event-loop turn (view-reads.ts). */
  private readonly batchedViews: BatchedViews | undefined;

  private constructor(
    private readonly db: Db,
    /** Where the data is, for messages: the data dir's file or the URL without its password. */
    readonly location: string,
    private readonly release: () => void,
    options: StoreOptions,
  ) {
    this.eventLog = new EventLog(db, { ...DEFAULT_EVENT_RETENTION, ...options.eventRetention });
    this.idempotency = new IdempotencyKeys(db);
    this.serviceWrites = new ServiceWrites(db, this.eventLog);
    this.views = db.dialect.name === "sqlite" ? new Map() : undefined;
    this.batchedViews = db.dialect.name === "postgres" ? new BatchedViews(db) : undefined;
  }

  get kind(): "sqlite" | "postgres" {
    return this.db.dialect.name;
  }

  /** PostgreSQL only: the pool, shared with the replicas' leases (reconciler/leases-pg.ts). */
  get pgPool(): pg.Pool | undefined {
    return this.db instanceof PostgresDb ? this.db.pool : undefined;
  }

  /** The store of `database` (a PostgreSQL URL) or, without one, the embedded store in `dataDir`. */
  static open(where: { dataDir: string; database?: string }, options: StoreOptions = {}): Promise<Store> {
    return where.database ? Store.postgres(where.database, options) : Store.sqlite(where.dataDir, options);
  }

  /** The data dir's embedded database, holding the data dir's lock, at the current schema version. */
  static async sqlite(dataDir: string, options: StoreOptions = {}): Promise<Store> {
    const unlock = lockDataDir(dataDir);
    let db: Database.Database | undefined;
    try {
      db = openSqlite(join(dataDir, DATABASE_FILE));
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("busy_timeout = 5000");
      const sql = new SqliteDb(db);
      await migrate(sql, dataDir);
      return new Store(sql, join(dataDir, DATABASE_FILE), unlock, options);
    } catch (error) {
      db?.close();
      unlock();
      throw error;
    }
  }

  /** A PostgreSQL database at the current schema version; replicas starting together migrate one at a time. */
  static async postgres(url: string, options: StoreOptions = {}): Promise<Store> {
    if (!isPostgresUrl(url)) throw new Error("--database: must be a postgres:// or postgresql:// URL");
    const where = redactUrl(url);
    const db = new PostgresDb(url, {
      ...(options.poolSize ? { max: options.poolSize } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
    try {
      await db.withAdvisoryLock(MIGRATION_LOCK, () => migrate(db, where));
      return new Store(db, where, () => {}, options);
    } catch (error) {
      await db.close().catch(() => {});
      // pg's messages never hold the password; the URL is named without it.
      throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    await this.db.close();
    this.release();
  }

  /** A cheap round trip to the database (readiness). */
  async ping(): Promise<void> {
    await this.db.get("SELECT 1 AS one");
  }

  /**
   * Runs `fn` as one transaction: all of its writes commit together, or none.
   * Every store call made inside `fn` (however deep the awaits) belongs to it;
   * a nested call joins the outer transaction (one commit at the end). If a
   * nested call throws, the whole transaction is rolled back even when the
   * outer `fn` catches the error.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.db.transaction(() => fn(this));
  }

  /** Runs `fn` outside the caller's transaction, if any (see Db.outside). */
  outside<T>(fn: () => T): T {
    return this.db.outside(fn);
  }

  /** Runs `fn` once the caller's transaction has committed, or now outside one (see Db.afterCommit). */
  afterCommit(fn: () => void): void {
    this.db.afterCommit(fn);
  }

  async meta(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>(SQL.getMeta, [key]))?.value;
  }
  async setMeta(key: string, value: string): Promise<void> {
    await this.db.run(SQL.putMeta, [key, value]);
  }
  /** Every metadata entry; some are sealed (the development token, the reference backends' key). */
  allMeta(): Promise<{ key: string; value: string }[]> {
    return this.db.all(SQL.allMeta);
  }

  // ---------------------------------------------------------------- providers

  /**
   * The catalog, parsed once and kept until a provider changes (here or in
   * another replica): callers get the same objects each time, so what they
   * derive from them (compiled JSON Schemas) can be cached by identity. Treat
   * them as read-only.
   */
  async providers(): Promise<readonly StoredProvider[]> {
    const rev = await this.catalogRev();
    if (this.catalog && this.catalog.rev === rev) return this.catalog.list;
    const rows = await this.db.all<{ entry: string; scope: string; builtin: number }>(SQL.providers);
    const list = rows.map((row) => ({
      entry: JSON.parse(row.entry) as schemas.Provider,
      scope: JSON.parse(row.scope) as schemas.ProviderScope,
      builtin: row.builtin === 1,
    }));
    // Read inside a transaction that wrote a provider, the list may yet roll back: keep it only for that caller.
    if (!this.db.inTransaction()) this.catalog = { rev, list };
    else this.catalog = undefined;
    return list;
  }

  /**
   * The catalog's revision. On PostgreSQL the callers of one event-loop turn
   * share one read, made after all of them arrived (so each still sees what
   * any replica committed before it asked): a burst of creates and steps
   * makes one round trip for it, not one each. Inside a transaction it is
   * read through that transaction.
   */
  private catalogRev(): Promise<string | undefined> {
    if (this.db.dialect.name !== "postgres" || this.db.inTransaction()) return this.meta(CATALOG_REV);
    this.revRead ??= new Promise<void>((resolve) => this.db.outside(() => setImmediate(resolve))).then(() => {
      this.revRead = undefined;
      return this.meta(CATALOG_REV);
    });
    return this.revRead;
  }

  async putProvider(p: StoredProvider): Promise<void> {
    await this.transaction(async () => {
      await this.db.run(SQL.putProvider, [
        p.entry.name,
        p.entry.schemaVersion,
        p.builtin ? 1 : 0,
        JSON.stringify(p.scope),
        JSON.stringify(p.entry),
      ]);
      await this.setMeta(CATALOG_REV, randomUUID());
    });
    this.catalog = undefined;
  }
  async deleteProvider(name: string, schemaVersion: string): Promise<boolean> {
    const gone = await this.transaction(async () => {
      const n = await this.db.run(SQL.deleteProvider, [name, schemaVersion]);
      await this.setMeta(CATALOG_REV, randomUUID());
      return n > 0;
    });
    this.catalog = undefined;
    return gone;
  }

  // ---------------------------------------------------------------- services

  async service(id: string): Promise<ServiceRecord | undefined> {
    const row = await this.db.get<RecordRow>(SQL.service, [id]);
    return row && parse(row);
  }
  /**
   * The service's API view as JSON text, and its team (for the caller's
   * access check). A view SQLite holds in memory comes back as is, not in a
   * promise: a GET answered from memory then creates none (each one costs
   * an async-hooks call while transactions use AsyncLocalStorage).
   */
  serviceView(id: string): ServiceView | undefined | Promise<ServiceView | undefined> {
    if (!this.db.inTransaction()) {
      const cached = this.views?.get(id);
      if (cached) return cached;
      if (this.batchedViews) return this.batchedViews.read(id);
    }
    return this.readView(id);
  }
  private async readView(id: string): Promise<ServiceView | undefined> {
    const writesBefore = this.serviceWriteCount;
    const row = await this.db.get<{ team_id: number; view: string | null }>(SQL.view, [id]);
    const found = row && { teamId: row.team_id, view: row.view ?? "" };
    if (found && this.views && !this.db.inTransaction() && this.serviceWriteCount === writesBefore)
      this.views.set(id, found);
    return found;
  }
  async servicesOfTeam(team: number): Promise<ServiceRecord[]> {
    return (await this.db.all<RecordRow>(SQL.ofTeam, [team])).map(parse);
  }
  /** Every service record (a scan: for rare whole-table work). */
  async services(): Promise<ServiceRecord[]> {
    return (await this.db.all<RecordRow>(SQL.all)).map(parse);
  }
  /** The live service of `team` named `name`, if any. */
  async liveServiceNamed(team: number, name: string): Promise<ServiceRecord | undefined> {
    const row = await this.db.get<RecordRow>(SQL.liveNamed, [team, name]);
    return row && parse(row);
  }
  async countByState(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const row of await this.db.all<{ state: string; n: number }>(SQL.byState)) out[row.state] = row.n;
    return out;
  }
  /** Up to `limit` converged (synchronized or paused) live services with ids after `afterId`, in id order. */
  async convergedServices(afterId: string, limit: number): Promise<WatchedService[]> {
    const rows = await this.db.all<WatchRow>(SQL.converged, [afterId, limit]);
    const page: WatchedService[] = [];
    for (const row of rows) {
      const watched = watchedService(row);
      if (watched) page.push(watched);
      else {
        // No watch column (a row written outside landform): what the record says.
        const record = await this.service(row.id);
        if (record) page.push(watchOf(record));
      }
    }
    return page;
  }
  /** The services with work due, and when. */
  dueServices(): Promise<{ id: string; next_attempt_at: number }[]> {
    return this.db.all(SQL.due);
  }

  /**
   * Writes the record. A record without `rev` is new; one with `rev` replaces
   * the stored record only if that still has the same `rev` (else
   * StaleRecordError: someone wrote it since it was read). Sets `rev` to the new revision.
   */
  async putService(record: ServiceRecord): Promise<void> {
    this.wroteService(record.id);
    await this.serviceWrites.put(record);
  }
  /**
   * `putService` with events appended to the service's log and sealed secrets
   * stored, all or nothing (one statement on PostgreSQL: service-writes.ts).
   */
  async writeService(
    record: ServiceRecord,
    events: readonly schemas.LogRecord[],
    secrets: readonly SealedSecret[] = [],
  ): Promise<void> {
    this.wroteService(record.id);
    await this.serviceWrites.write(record, events, secrets);
  }
  private wroteService(id: string): void {
    this.views?.delete(id);
    this.serviceWriteCount++;
  }
  /** Removes the service, its event log and its secrets for good. */
  async purgeService(id: string): Promise<void> {
    this.wroteService(id);
    await this.transaction(async () => {
      await this.db.run(SQL.deleteService, [id]);
      await this.eventLog.deleteAll(id);
      await this.db.run(SQL.deleteSecrets, [id]);
    });
  }

  // ---------------------------------------------------------------- events

  /** Appends to the service's log; trims the log to its retention now and then (see store/event-log.ts). */
  addEvent(serviceId: string, event: schemas.LogRecord): Promise<void> {
    return this.eventLog.add(serviceId, event);
  }
  /** The service is being created: its log starts empty, so writing to it starts without a trim. */
  freshEventLog(serviceId: string): void {
    this.eventLog.fresh(serviceId);
  }
  events(
    serviceId: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ seq: number; event: schemas.LogRecord }[]> {
    return this.eventLog.page(serviceId, afterSeq, limit);
  }
  /** Drops events past the retention age as of `now` (the control plane's clock); returns how many. */
  pruneEvents(now: number): Promise<number> {
    return this.eventLog.pruneOlderThan(now);
  }

  // ---------------------------------------------------------------- secrets (sealed)

  async sealedSecret(owner: string, kind: SecretKind): Promise<string | undefined> {
    return (await this.db.get<{ sealed: string }>(SQL.getSecret, [owner, kind]))?.sealed;
  }
  async putSealedSecret(owner: string, kind: SecretKind, sealed: string): Promise<void> {
    await this.db.run(SQL.putSecret, [owner, kind, sealed]);
  }
  async purgeSecrets(owner: string): Promise<void> {
    await this.db.run(SQL.deleteSecrets, [owner]);
  }
  /** Every sealed secret, for `landform vault rotate` (which re-seals them all in one transaction). */
  allSealedSecrets(): Promise<{ owner: string; kind: SecretKind; sealed: string }[]> {
    return this.db.all(SQL.allSecrets);
  }
}
