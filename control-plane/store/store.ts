/**
 * Durable state of the control plane: the catalog, each managed service's
 * desired and observed state, its full event log, and sealed secrets.
 *
 * Embedded SQLite (better-sqlite3, WAL, synchronous=NORMAL: a crash may lose
 * the last few milliseconds of commits, never corrupt them; see
 * docs/decisions/003-embedded-storage.md). The SQL is kept portable (TEXT
 * JSON documents plus a few indexed columns, no SQLite-only syntax) so a
 * PostgreSQL implementation of the same module can follow.
 *
 * Every write a request makes runs in one `transaction()`.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type * as schemas from "../../sdk/schemas";
import { migrate } from "./migrations";

export interface BackupSettings {
  enabled: boolean;
  intervalH?: number;
  deleteRetentionDays?: number;
  config?: schemas.Values;
  /** When the next scheduled backup is due (ISO time on the control plane's clock). */
  nextAt?: string;
}

/** One backup of a service, as the API shows it plus what the reconciler tracks. */
export interface BackupRecord extends schemas.BackupEntry {
  /** Why the backup was taken: on the schedule, on request, or before deletion. */
  reason: "scheduled" | "manual" | "final";
  /** The store settings the backup was taken with (status and deletion must go to the same place). */
  storeConfig?: schemas.Values;
  failures?: number;
  lastError?: string;
}

/** A managed service: what the user asked for (desired) and what the reconciler saw (observed). */
export interface ServiceRecord {
  id: string;
  teamId: number;
  name: string;
  provider: { name: string; schemaVersion: string };
  version?: string;
  plan: schemas.PlanSelection;
  config: schemas.Values;
  pause: boolean;
  backups: BackupSettings;
  backupEntries: BackupRecord[];
  /** Recovery source without its secrets (those are in the vault as kind "recover"). */
  recoverFrom?: { id?: string; msId?: string; time?: string; config: schemas.Values };
  createdAt: string;
  deletedAt?: string;
  /** When a soft-deleted record is removed for good. */
  purgeAfter?: string;

  state: schemas.ServiceState;
  detailsRef?: string;
  details?: Record<string, unknown>;
  /** Bumped by every change of desired state; the reconciler is done when observed catches up. */
  generation: number;
  observedGeneration: number;
  /** The generation last sent to the backend (POST or PATCH), so a change is sent once. */
  sentGeneration: number;
  /** Bumped when secrets change; sent with the next PATCH. */
  secretsVersion: number;
  sentSecretsVersion: number;
  /** Whether the backend accepted the create (so a restart never creates twice). */
  backendCreated: boolean;
  /** The state to return to after `unknown` or `invalid provider` clears. */
  resumeState?: schemas.ServiceState;
  /** Whether the backend accepted the DELETE of this service. */
  deleteSent?: boolean;
  failures: number;
  /** Bumped by the store on every write; lets a writer detect that it raced another. */
  rev?: number;
  /** Epoch ms of the next reconcile attempt, or null when nothing is due. */
  nextAttemptAt: number | null;
  recentEvents: schemas.LogRecord[];
}

export interface StoredProvider {
  entry: schemas.Provider;
  scope: schemas.ProviderScope;
  builtin: boolean;
}

export type SecretKind = "service" | "backups" | "recover";

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

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, "control-plane.sqlite"));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    migrate(this.db, dataDir);
    const db = this.db;
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
      deleteEvents: db.prepare("DELETE FROM events WHERE service_id = ?"),
      addEvent: db.prepare("INSERT INTO events (service_id, record, at) VALUES (?, ?, ?)"),
      events: db.prepare<[string, number, number], { seq: number; record: string }>(
        "SELECT seq, record FROM events WHERE service_id = ? AND seq > ? ORDER BY seq LIMIT ?",
      ),
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
  }

  /** Runs `fn` as one transaction: all of its writes commit together, or none. */
  transaction<T>(fn: () => T): T {
    const snapshot = new Map<string, ServiceRecord | undefined>();
    this.pendingSnapshot = snapshot;
    try {
      return this.db.transaction(fn)();
    } catch (error) {
      // Roll the in-memory view back to what the database holds.
      for (const [id, record] of snapshot) {
        if (record) this.records.set(id, record);
        else this.records.delete(id);
        this.onServiceChange(id);
      }
      this.indexNames();
      this.catalog = undefined;
      throw error;
    } finally {
      this.pendingSnapshot = undefined;
    }
  }
  private pendingSnapshot: Map<string, ServiceRecord | undefined> | undefined;

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
    this.remember(id);
    this.stmts.deleteService.run(id);
    this.stmts.deleteEvents.run(id);
    this.stmts.deleteSecrets.run(id);
    const before = this.records.get(id);
    if (before && !before.deletedAt) this.liveNames.delete(nameKey(before.teamId, before.name));
    this.records.delete(id);
    this.onServiceChange(id);
  }
  private remember(id: string): void {
    if (this.pendingSnapshot && !this.pendingSnapshot.has(id)) {
      const current = this.records.get(id);
      this.pendingSnapshot.set(id, current && structuredClone(current));
    }
  }

  // ---------------------------------------------------------------- events

  addEvent(serviceId: string, event: schemas.LogRecord): void {
    this.stmts.addEvent.run(serviceId, JSON.stringify(event), Date.parse(event.timestamp) || 0);
  }
  events(serviceId: string, afterSeq: number, limit: number): { seq: number; event: schemas.LogRecord }[] {
    return this.stmts.events
      .all(serviceId, afterSeq, limit)
      .map((row) => ({ seq: row.seq, event: JSON.parse(row.record) as schemas.LogRecord }));
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
