import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { service } from "../../test/support/store-kinds";
import { viewOf } from "../domain/view";
import { LATEST_VERSION, MIGRATIONS, migrate, SQLITE, schemaVersion } from "./migrations";
import { SqliteDb } from "./sqlite-db";
import { openSqlite } from "./sqlite-open";
import { Store } from "./store";
import { watchColumn, watchOf } from "./watch";

const wrap = (db: Database.Database) => new SqliteDb(db);

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "landform-migrations-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const dbFile = (dir: string) => join(dir, "control-plane.sqlite");

describe("schema migrations", () => {
  it("numbers migrations 1, 2, ... in order", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_VERSION).toBe(MIGRATIONS.length);
  });

  it("brings a new data dir to the latest version and records each step", async () => {
    const dir = tempDir();
    await (await Store.sqlite(dir)).close();
    const db = openSqlite(dbFile(dir));
    expect(await schemaVersion(wrap(db))).toBe(LATEST_VERSION);
    const rows = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version").all();
    expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    db.close();
  });

  it("adopts a data dir of the unversioned release as version 1 and migrates its rows", async () => {
    const dir = tempDir();
    // What the release before versioning left behind: version 1's tables, no schema_migrations.
    const db = openSqlite(dbFile(dir));
    for (const sql of MIGRATIONS[0]!.sql(SQLITE)) db.exec(sql);
    const timestamp = "2024-05-01T10:00:00.000Z";
    db.prepare("INSERT INTO events (service_id, record) VALUES (?, ?)").run(
      "s1",
      JSON.stringify({ eventName: "Old", timestamp }),
    );
    db.close();

    const store = await Store.sqlite(dir);
    expect((await store.events("s1", 0, 10)).map((e) => e.event.eventName)).toEqual(["Old"]);
    await store.close();
    const after = openSqlite(dbFile(dir));
    expect(await schemaVersion(wrap(after))).toBe(LATEST_VERSION);
    expect(after.prepare("SELECT at FROM events").get()).toEqual({ at: Date.parse(timestamp) });
    after.close();
  });

  it("refuses a data dir written by a newer landform, naming the dir and both versions", async () => {
    const dir = tempDir();
    await (await Store.sqlite(dir)).close();
    const db = openSqlite(dbFile(dir));
    db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
      LATEST_VERSION + 1,
      "from the future",
      new Date().toISOString(),
    );
    db.close();
    await expect(Store.sqlite(dir)).rejects.toThrow(
      `${dir} has schema version ${LATEST_VERSION + 1}, but this landform knows versions up to ${LATEST_VERSION}`,
    );
  });

  it("applies each migration atomically: a failing one leaves the version and the tables as they were", async () => {
    const dir = tempDir();
    const db = openSqlite(dbFile(dir));
    const broken = [
      ...MIGRATIONS,
      {
        version: MIGRATIONS.length + 1,
        name: "half done",
        sql: () => ["CREATE TABLE half (x TEXT)", "THIS IS NOT SQL"],
      },
    ];
    await expect(migrate(wrap(db), dir, broken)).rejects.toThrow();
    expect(await schemaVersion(wrap(db))).toBe(LATEST_VERSION);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    db.close();
  });

  it("adds the idempotency_keys table (3) to a data dir at version 2, keeping its rows", async () => {
    const dir = tempDir();
    const db = openSqlite(dbFile(dir));
    await migrate(wrap(db), dir, MIGRATIONS, 2);
    db.prepare("INSERT INTO meta (key, value) VALUES ('kept', 'yes')").run();
    db.close();

    const store = await Store.sqlite(dir);
    expect(await store.meta("kept")).toBe("yes");
    const answer = { fingerprint: "f", status: 200, contentType: "application/json", body: "{}" };
    await store.idempotency.record("scope", "key", answer, 1_000);
    expect(await store.idempotency.find("scope", "key", 1_001)).toMatchObject(answer);
    await store.close();
    const after = openSqlite(dbFile(dir));
    expect(await schemaVersion(wrap(after))).toBe(LATEST_VERSION);
    expect(
      after.prepare("SELECT name FROM sqlite_master WHERE name = 'idempotency_keys_expiry'").get(),
    ).toEqual({
      name: "idempotency_keys_expiry",
    });
    after.close();
  });

  it("moves each service's revision and API view into columns (4), from the record", async () => {
    const dir = tempDir();
    const db = openSqlite(dbFile(dir));
    await migrate(wrap(db), dir, MIGRATIONS, 3);
    const record = service("s1");
    record.rev = 7;
    db.prepare(
      "INSERT INTO services (id, team_id, name, deleted_at, state, next_attempt_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run("s1", 1, "s1", null, "creating", null, JSON.stringify(record));
    db.close();

    const store = await Store.sqlite(dir);
    expect((await store.service("s1"))?.rev).toBe(7);
    expect((await store.serviceView("s1"))?.view).toBe(JSON.stringify(viewOf(record)));
    // The next write compares against the migrated revision.
    await store.putService({ ...record, config: { changed: true } });
    expect((await store.service("s1"))?.rev).toBe(8);
    await store.close();
  });

  it("fills each service's watch column (7) from the record", async () => {
    const dir = tempDir();
    const db = openSqlite(dbFile(dir));
    await migrate(wrap(db), dir, MIGRATIONS, 6);
    const record = { ...service("s1"), state: "synchronized" as const, details: { ready: true } };
    record.rev = 3;
    db.prepare(
      "INSERT INTO services (id, team_id, name, deleted_at, state, next_attempt_at, record, rev, view) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(
      "s1",
      1,
      "s1",
      null,
      "synchronized",
      null,
      JSON.stringify(record),
      3,
      JSON.stringify(viewOf(record)),
    );
    db.close();

    const store = await Store.sqlite(dir);
    const migrated = openSqlite(dbFile(dir));
    expect(migrated.prepare("SELECT watch FROM services WHERE id = 's1'").get()).toEqual({
      watch: watchColumn(record),
    });
    migrated.close();
    expect(await store.convergedServices("", 10)).toEqual([watchOf(record)]);
    await store.close();
  });
});
