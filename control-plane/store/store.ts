/**
 * Durable state of the control plane: the catalog, each managed service's
 * desired and observed state, its event log, and sealed secrets.
 *
 * Embedded SQLite (better-sqlite3, WAL, synchronous=NORMAL: a crash may lose
 * the last few milliseconds of commits, never corrupt them; see
 * docs/decisions/003-embedded-storage.md). The SQL is kept portable (TEXT
 * JSON documents plus a few indexed columns, no SQLite-only syntax) so a
 * PostgreSQL implementation of the same module can follow. The schema is
 * versioned (store/migrations.ts) and the data dir is held by one process
 * (store/lock.ts).
 *
 * Every multi-statement write runs in one `transaction()`; transactions nest
 * by joining the outermost one.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import type * as schemas from "../../sdk/schemas";
import { DEFAULT_EVENT_RETENTION, EventLog, type EventRetention } from "./event-log";
import { IdempotencyKeys } from "./idempotency";
import { lockDataDir } from "./lock";
import { migrate } from "./migrations";
import type { SecretKind, ServiceRecord, StoredProvider } from "./records";

export type { EventRetention } from "./event-log";
export type { BackupRecord, BackupSettings, SecretKind, ServiceRecord, StoredProvider } from "./records";

export interface StoreOptions {
  /** How many events to keep per service and for how long (default 1,000 and 30 days). */
  eventRetention?: Partial<EventRetention>;
}

export const DATABASE_FILE = "control-plane.sqlite";

/** Opens the data dir's database, holding its lock, at the current schema version. */
function open(dataDir: string): { db: Database.Database; unlock: () => void } {
  const unlock = lockDataDir(dataDir);
  let db: Database.Database | undefined;
  try {
    db = new Database(join(dataDir, DATABASE_FILE));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    migrate(db, dataDir);
    return { db, unlock };
  } catch (error) {
    db?.close();
    unlock();
    throw error;
  }
}

/** An open transaction: what to restore if it rolls back. */
interface OpenTransaction {
  /** Each touched service as it was before the transaction (undefined: it did not exist). */
  snapshot: Map<string, ServiceRecord | undefined>;
  /** Set when a nested transaction threw: the outer one may not commit. */
  doomed?: unknown;
}

const nameKey = (team: number, name: string) => `${team}\u0000${name}`;

export class Store {
  private readonly db: Database.Database;
  private readonly stmts;
  /** Serialized records by id; the read path of GET /managed-services/{id}. */
  private readonly records = new Map<string, ServiceRecord>();
  /** Live (not deleted) services by team and name: the API's uniqueness check without a scan. */
  private readonly liveNames = new Map<string, string>();
  /** Called after a service record is written or removed (e.g. to drop a cached view). */
  onServiceChange: (id: string) => void = () => {};

  private readonly unlock: () => void;
  private readonly eventLog: EventLog;
  /** Answers of keyed writes (Idempotency-Key); record them in the write's own transaction. */
  readonly idempotency: IdempotencyKeys;

  constructor(dataDir: string, options: StoreOptions = {}) {
    const { db, unlock } = open(dataDir);
    this.db = db;
    this.unlock = unlock;
    this.eventLog = new EventLog(db, { ...DEFAULT_EVENT_RETENTION, ...options.eventRetention });
    this.idempotency = new IdempotencyKeys(db);
    this.stmts = {
      getMeta: db.prepare<[string], { value: string }>("SELECT value FROM meta WHERE key = ?"),
      putMeta: db.prepare(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      providers: db.prepare<[], { entry: string; scope: string; builtin: number }>(
        "SELECT entry, scope, builtin FROM providers ORDER BY name, schema_version",
      ),
      putProvider: db.prepare(
        `INSERT INTO providers (name, schema_version, builtin, scope, entry) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name, schema_version) DO UPDATE SET builtin = excluded.builtin, scope = excluded.scope, entry = excluded.entry`,
      ),
      deleteProvider: db.prepare("DELETE FROM providers WHERE name = ? AND schema_version = ?"),
      allServices: db.prepare<[], { record: string }>("SELECT record FROM services"),
      putService: db.prepare(
        `INSERT INTO services (id, team_id, name, deleted_at, state, next_attempt_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, name = excluded.name, deleted_at = excluded.deleted_at,
           state = excluded.state, next_attempt_at = excluded.next_attempt_at, record = excluded.record`,
      ),
      deleteService: db.prepare("DELETE FROM services WHERE id = ?"),
      getSecret: db.prepare<[string, string], { sealed: string }>(
        "SELECT sealed FROM secrets WHERE owner = ? AND kind = ?",
      ),
      putSecret: db.prepare(
        "INSERT INTO secrets (owner, kind, sealed) VALUES (?, ?, ?) ON CONFLICT (owner, kind) DO UPDATE SET sealed = excluded.sealed",
      ),
      deleteSecrets: db.prepare("DELETE FROM secrets WHERE owner = ?"),
    };
    // The whole service table is small enough to keep in memory (a record is
    // about a kilobyte); reads never touch the database.
    for (const row of this.stmts.allServices.all()) {
      const record = JSON.parse(row.record) as ServiceRecord;
      this.records.set(record.id, record);
    }
    this.indexNames();
  }

  private indexNames(): void {
    this.liveNames.clear();
    for (const r of this.records.values())
      if (!r.deletedAt) this.liveNames.set(nameKey(r.teamId, r.name), r.id);
  }

  /** The live service of `team` named `name`, if any. */
  liveServiceNamed(team: number, name: string): ServiceRecord | undefined {
    const id = this.liveNames.get(nameKey(team, name));
    return id === undefined ? undefined : this.records.get(id);
  }

  close(): void {
    this.db.close();
    this.unlock();
  }

  /**
   * Runs `fn` as one transaction: all of its writes commit together, or none,
   * and on rollback the in-memory records return to what the database holds.
   * A nested call joins the outer transaction (one commit at the end). If a
   * nested call throws, the whole transaction is rolled back even when the
   * outer `fn` catches the error: half of a joined transaction never commits.
   */
  transaction<T>(fn: () => T): T {
    const outer = this.open;
    if (outer) {
      try {
        return fn();
      } catch (error) {
        outer.doomed ??= error;
        throw error;
      }
    }
    const tx: OpenTransaction = { snapshot: new Map() };
    this.open = tx;
    try {
      return this.db.transaction(() => {
        const result = fn();
        if (tx.doomed !== undefined) {
          throw new Error(
            `rolled back: a nested transaction failed (${tx.doomed instanceof Error ? tx.doomed.message : String(tx.doomed)})`,
          );
        }
        return result;
      })();
    } catch (error) {
      for (const [id, record] of tx.snapshot) {
        if (record) this.records.set(id, record);
        else this.records.delete(id);
        this.onServiceChange(id);
      }
      this.indexNames();
      this.catalog = undefined;
      throw error;
    } finally {
      this.open = undefined;
    }
  }
  private open: OpenTransaction | undefined;

  meta(key: string): string | undefined {
    return this.stmts.getMeta.get(key)?.value;
  }
  setMeta(key: string, value: string): void {
    this.stmts.putMeta.run(key, value);
  }

  // ---------------------------------------------------------------- providers

  /**
   * The catalog, parsed once and kept until a provider changes: callers get
   * the same objects each time, so what they derive from them (compiled JSON
   * Schemas) can be cached by identity. Treat them as read-only.
   */
  providers(): readonly StoredProvider[] {
    this.catalog ??= this.stmts.providers.all().map((row) => ({
      entry: JSON.parse(row.entry) as schemas.Provider,
      scope: JSON.parse(row.scope) as schemas.ProviderScope,
      builtin: row.builtin === 1,
    }));
    return this.catalog;
  }
  private catalog: StoredProvider[] | undefined;

  putProvider(p: StoredProvider): void {
    this.catalog = undefined;
    this.stmts.putProvider.run(
      p.entry.name,
      p.entry.schemaVersion,
      p.builtin ? 1 : 0,
      JSON.stringify(p.scope),
      JSON.stringify(p.entry),
    );
  }
  deleteProvider(name: string, schemaVersion: string): boolean {
    this.catalog = undefined;
    return this.stmts.deleteProvider.run(name, schemaVersion).changes > 0;
  }

  // ---------------------------------------------------------------- services

  service(id: string): ServiceRecord | undefined {
    return this.records.get(id);
  }
  services(): IterableIterator<ServiceRecord> {
    return this.records.values();
  }
  putService(record: ServiceRecord): void {
    this.remember(record.id);
    record.rev = (this.records.get(record.id)?.rev ?? 0) + 1;
    this.stmts.putService.run(
      record.id,
      record.teamId,
      record.name,
      record.deletedAt ?? null,
      record.state,
      record.nextAttemptAt,
      JSON.stringify(record),
    );
    const before = this.records.get(record.id);
    if (before && !before.deletedAt) this.liveNames.delete(nameKey(before.teamId, before.name));
    this.records.set(record.id, record);
    if (!record.deletedAt) this.liveNames.set(nameKey(record.teamId, record.name), record.id);
    this.onServiceChange(record.id);
  }
  /** Removes the service, its event log and its secrets for good. */
  purgeService(id: string): void {
    this.transaction(() => {
      this.remember(id);
      this.stmts.deleteService.run(id);
      this.eventLog.deleteAll(id);
      this.stmts.deleteSecrets.run(id);
      const before = this.records.get(id);
      if (before && !before.deletedAt) this.liveNames.delete(nameKey(before.teamId, before.name));
      this.records.delete(id);
      this.onServiceChange(id);
    });
  }
  /** Keeps the first view of a service an open transaction touches, to restore on rollback. */
  private remember(id: string): void {
    const tx = this.open;
    if (tx && !tx.snapshot.has(id)) {
      const current = this.records.get(id);
      tx.snapshot.set(id, current && structuredClone(current));
    }
  }

  // ---------------------------------------------------------------- events

  /** Appends to the service's log; trims the log to its retention now and then (see store/event-log.ts). */
  addEvent(serviceId: string, event: schemas.LogRecord): void {
    this.eventLog.add(serviceId, event);
  }
  events(serviceId: string, afterSeq: number, limit: number): { seq: number; event: schemas.LogRecord }[] {
    return this.eventLog.page(serviceId, afterSeq, limit);
  }
  /** Drops events past the retention age as of `now` (the control plane's clock); returns how many. */
  pruneEvents(now: number): number {
    return this.eventLog.pruneOlderThan(now);
  }

  // ---------------------------------------------------------------- secrets (sealed)

  sealedSecret(owner: string, kind: SecretKind): string | undefined {
    return this.stmts.getSecret.get(owner, kind)?.sealed;
  }
  putSealedSecret(owner: string, kind: SecretKind, sealed: string): void {
    this.stmts.putSecret.run(owner, kind, sealed);
  }
  purgeSecrets(owner: string): void {
    this.stmts.deleteSecrets.run(owner);
  }
  /** Every sealed secret, for `landform vault rotate` (which re-seals them all in one transaction). */
  allSealedSecrets(): { owner: string; kind: SecretKind; sealed: string }[] {
    return this.db
      .prepare<[], { owner: string; kind: SecretKind; sealed: string }>(
        "SELECT owner, kind, sealed FROM secrets",
      )
      .all();
  }
  /** Every metadata entry; some are sealed (the development token, the reference backends' key). */
  allMeta(): { key: string; value: string }[] {
    return this.db.prepare<[], { key: string; value: string }>("SELECT key, value FROM meta").all();
  }
}
