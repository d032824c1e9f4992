/**
 * The embedded store's group commit (sqlite-db.ts): transactions of one turn
 * share a COMMIT, yet each keeps its own outcome, and nothing is seen or
 * answered before that COMMIT.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteDb } from "./sqlite-db";
import { openSqlite } from "./sqlite-open";

describe("SQLite group commit", () => {
  const dirs: string[] = [];
  const dbs: Database.Database[] = [];
  afterEach(() => {
    for (const d of dbs.splice(0)) d.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function open() {
    const dir = mkdtempSync(join(tmpdir(), "landform-group-"));
    dirs.push(dir);
    const raw = openSqlite(join(dir, "db.sqlite"));
    raw.pragma("journal_mode = WAL");
    dbs.push(raw);
    const db = new SqliteDb(raw);
    raw.exec("CREATE TABLE t (v TEXT PRIMARY KEY)");
    // A second connection sees only what was committed.
    const other = openSqlite(join(dir, "db.sqlite"), { readonly: true });
    dbs.push(other);
    const committed = () =>
      (other.prepare("SELECT v FROM t ORDER BY v").all() as { v: string }[]).map((r) => r.v);
    let commits = 0;
    const exec = raw.exec.bind(raw);
    raw.exec = (sql: string) => {
      if (sql === "COMMIT") commits++;
      return exec(sql);
    };
    return { db, committed, commits: () => commits };
  }

  it("commits the transactions of one turn once; a failing one rolls back only itself", async () => {
    const { db, committed, commits } = open();
    const answered: string[] = [];
    const write = (v: string, fail = false) =>
      db
        .transaction(async () => {
          await db.run("INSERT INTO t (v) VALUES (?)", [v]);
          if (fail) throw new Error(`no ${v}`);
        })
        .then(
          () => {
            // Answered only once it is on disk, for other connections too.
            expect(committed()).toContain(v);
            answered.push(v);
          },
          (e: Error) => answered.push(e.message),
        );
    await Promise.all([write("a"), write("b", true), write("c"), write("d")]);
    expect(answered.sort()).toEqual(["a", "c", "d", "no b"]);
    expect(committed()).toEqual(["a", "c", "d"]);
    expect(commits()).toBe(1);
  });

  it("makes a read from outside wait for the COMMIT, and start a new group after it", async () => {
    const { db, committed, commits } = open();
    const tx = db.transaction(() => db.run("INSERT INTO t (v) VALUES ('x')"));
    const seen = db.all<{ v: string }>("SELECT v FROM t");
    const later = db.transaction(() => db.run("INSERT INTO t (v) VALUES ('y')"));
    await Promise.all([tx, later]);
    expect(await seen).toEqual([{ v: "x" }]);
    expect(committed()).toEqual(["x", "y"]);
    expect(commits()).toBe(2);
  });

  it("commits a group at MAX_GROUP transactions even while more keep queueing", async () => {
    const { db, committed, commits } = open();
    await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        db.transaction(() => db.run("INSERT INTO t (v) VALUES (?)", [`v${i}`])),
      ),
    );
    expect(committed()).toHaveLength(150);
    expect(commits()).toBeGreaterThanOrEqual(3);
    expect(commits()).toBeLessThan(150);
  });
});
