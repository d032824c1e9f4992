/**
 * Both stores for the store's unit tests: one shared suite runs against each.
 * SQLite gets a fresh data dir per store; PostgreSQL a real server started
 * once per test file (test/support/postgres.ts; no server binary is a
 * failure, never a skip) and a fresh database per store.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServiceRecord, Store, type StoreOptions } from "../../control-plane/store/store";
import type * as schemas from "../../sdk/schemas";
import { startPostgres, type TestPostgres } from "./postgres";

export interface StoreKind {
  name: "sqlite" | "postgres";
  /** A new, empty store; `where` reopens the same data (dir or database). */
  fresh(options?: StoreOptions): Promise<{ store: Store; where: { dataDir: string; database?: string } }>;
  /** Everything started for this kind (the PostgreSQL server, temp dirs) goes. */
  cleanup(): Promise<void>;
}

export function sqliteKind(): StoreKind {
  const dirs: string[] = [];
  return {
    name: "sqlite",
    async fresh(options) {
      const dataDir = mkdtempSync(join(tmpdir(), "landform-store-"));
      dirs.push(dataDir);
      return { store: await Store.open({ dataDir }, options), where: { dataDir } };
    },
    async cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

export function postgresKind(): StoreKind {
  let server: Promise<TestPostgres> | undefined;
  const dirs: string[] = [];
  return {
    name: "postgres",
    async fresh(options) {
      server ??= startPostgres();
      const database = await (await server).createDatabase();
      const dataDir = mkdtempSync(join(tmpdir(), "landform-store-"));
      dirs.push(dataDir);
      return { store: await Store.open({ dataDir, database }, options), where: { dataDir, database } };
    },
    async cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
      if (server) await (await server).stop();
      server = undefined;
    },
  };
}

/** A minimal new service record (no revision yet) for store tests. */
export function service(id: string, name = id): ServiceRecord {
  return {
    id,
    teamId: 1,
    name,
    provider: { name: "postgres", schemaVersion: "v1" },
    plan: { id: 0, parameters: {} } as unknown as schemas.PlanSelection,
    config: {},
    pause: false,
    backups: { enabled: false },
    backupEntries: [],
    createdAt: new Date(0).toISOString(),
    state: "creating",
    generation: 1,
    observedGeneration: 0,
    sentGeneration: 0,
    secretsVersion: 1,
    sentSecretsVersion: 0,
    backendCreated: false,
    failures: 0,
    nextAttemptAt: null,
    recentEvents: [],
  };
}

/** An info event named `name` at `at` (ms), as the store keeps them. */
export function event(name: string, at: number): schemas.LogRecord {
  const timestamp = new Date(at).toISOString();
  return {
    eventName: name,
    timestamp,
    observedTimestamp: timestamp,
    severityNumber: 9,
    body: name,
    resource: "managed-service/x",
    attributes: {},
  };
}
