/**
 * What only one of the two stores has: replicas sharing one PostgreSQL
 * database (read-your-writes across stores, concurrent migration, the URL's
 * password kept out of errors), and SQLite's query plans for the event trims.
 * The contract both stores share is in store.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it, vi } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { event, postgresKind, service } from "../../test/support/store-kinds";
import { MIGRATIONS } from "./migrations";
import { PostgresDb } from "./postgres-db";
import { openSqlite } from "./sqlite-open";
import { Store } from "./store";
import { SQL } from "./store-sql";
import { BatchedViews, MAX_VIEW_STATEMENTS, type ServiceView } from "./view-reads";

describe("store on PostgreSQL only: replicas share one database", () => {
  const kind = postgresKind();
  afterAll(() => kind.cleanup(), 60_000);

  it("reads through one store what another committed, at once (no cached copy)", async () => {
    const { store: a, where } = await kind.fresh();
    const b = await Store.open(where);
    try {
      const r = service("x");
      await a.putService(r);
      expect((await b.service("x"))?.rev).toBe(1);
      await b.putService({ ...(await b.service("x"))!, config: { by: "B" } });
      expect((await a.service("x"))?.config).toEqual({ by: "B" });
      expect(JSON.parse((await a.serviceView("x"))!.view).config).toEqual({ by: "B" });
      // The catalog too: a provider written through B is in A's next read.
      const before = await a.providers();
      await b.putProvider({
        entry: { name: "p", schemaVersion: "v1", version: "v1" } as unknown as schemas.Provider,
        scope: { type: "global" },
        builtin: false,
      });
      expect((await a.providers()).map((p) => p.entry.name)).toEqual([
        ...before.map((p) => p.entry.name),
        "p",
      ]);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it("answers view reads asked together (one batched statement) each with its own, current view", async () => {
    const { store: a, where } = await kind.fresh();
    const b = await Store.open(where);
    try {
      for (let i = 0; i < 40; i++) await a.putService({ ...service(`v${i}`), config: { n: i } });
      const ids = [...Array.from({ length: 40 }, (_, i) => `v${i}`), "v7", "missing"];
      const views = await Promise.all(ids.map((id) => b.serviceView(id)));
      expect(views.slice(0, 40).map((v) => JSON.parse(v!.view).config.n)).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );
      expect(JSON.parse(views[40]!.view).config.n).toBe(7);
      expect(views[41]).toBeUndefined();
      // A write committed through A is in B's very next read, batched or not.
      await a.putService({ ...(await a.service("v3"))!, config: { n: 333 } });
      const again = await Promise.all(["v3", "v4"].map((id) => b.serviceView(id)));
      expect(again.map((v) => JSON.parse(v!.view).config.n)).toEqual([333, 4]);
    } finally {
      await b.close();
    }
  });

  it("keeps at most two view statements out; views asked meanwhile wait for the next one and read what is current", async () => {
    const { store: a, where } = await kind.fresh();
    for (let i = 0; i < 7; i++) await a.putService({ ...service(`w${i}`), config: { n: i } });
    // A database that takes 100 ms a statement: the later turns' reads are asked while earlier ones are out.
    const db = new PostgresDb(where.database!);
    const all = db.all.bind(db);
    let out = 0;
    let most = 0;
    vi.spyOn(db, "all").mockImplementation(async (sql, params) => {
      most = Math.max(most, ++out);
      try {
        await sleep(100);
        return await all(sql, params);
      } finally {
        out--;
      }
    });
    const views = new BatchedViews(db);
    try {
      const asked: Promise<ServiceView | undefined>[] = [];
      for (let turn = 0; turn < 6; turn++) {
        asked.push(views.read(`w${turn}`), views.read("w0"));
        await new Promise((r) => setImmediate(r));
      }
      // Committed while statements are out: a read asked after it sees it.
      await a.putService({ ...(await a.service("w6"))!, config: { n: 666 } });
      const after = views.read("w6");
      const got = await Promise.all(asked);
      expect(got.map((v) => JSON.parse(v!.view).config.n)).toEqual([0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
      expect(JSON.parse((await after)!.view).config.n).toBe(666);
      expect(most).toBe(MAX_VIEW_STATEMENTS);
    } finally {
      await db.close();
    }
  });

  it("pages converged services through their own index, also on statistics taken before a burst of writes", async () => {
    const { store, where } = await kind.fresh();
    const { Client } = await import("pg");
    const c = new Client({ connectionString: where.database });
    await c.connect();
    try {
      await store.putService({ ...service("a0"), state: "synchronized" });
      await c.query("ANALYZE services");
      // The burst: statistics still say one row; each service written twice (dead row versions, as steps leave).
      for (let i = 1; i <= 800; i++) {
        await store.putService({ ...service(`a${i}`), state: "creating" });
        await store.putService({ ...(await store.service(`a${i}`))!, state: "synchronized" });
      }
      const plan = (await c.query(`EXPLAIN ${SQL.converged.replace("?", "'a400'").replace("?", "500")}`)).rows
        .map((r: Record<string, string>) => r["QUERY PLAN"])
        .join("\n");
      // In id order straight from the index: no sort of every remaining row.
      expect(plan).toMatch(/Index (Only )?Scan using services_watched/);
      expect(plan).not.toMatch(/Sort|Bitmap/);
      const page = await store.convergedServices("a400", 500);
      expect(page.map((r) => r.id)).toEqual(
        Array.from({ length: 800 }, (_, i) => `a${i + 1}`)
          .filter((id) => id > "a400")
          .sort()
          .slice(0, 500),
      );
    } finally {
      await c.end();
    }
  });

  it("lets replicas that start together migrate one at a time", async () => {
    const { store, where } = await kind.fresh();
    await store.close();
    // A fresh database, opened by five stores at once.
    const url = where.database!.replace(/\/([^/]*)$/, "/$1_m");
    const { Client } = await import("pg");
    const c = new Client({ connectionString: where.database });
    await c.connect();
    await c.query(`CREATE DATABASE ${c.escapeIdentifier(new URL(url).pathname.slice(1))}`);
    await c.end();
    const stores = await Promise.all(
      Array.from({ length: 5 }, () => Store.open({ dataDir: where.dataDir, database: url })),
    );
    try {
      const c2 = new Client({ connectionString: url });
      await c2.connect();
      const rows = (await c2.query("SELECT version FROM schema_migrations ORDER BY version")).rows;
      await c2.end();
      // Each migration recorded once, none skipped, whoever of the five ran it.
      expect(rows.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it("names the database without its password when it cannot be reached", async () => {
    await expect(
      Store.open({ dataDir: tmpdir(), database: "postgres://u:hunter2secret@127.0.0.1:1/db" }),
    ).rejects.toThrow(/postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db/);
    await expect(
      Store.open({ dataDir: tmpdir(), database: "postgres://u:hunter2secret@127.0.0.1:1/db" }),
    ).rejects.not.toThrow(/hunter2secret/);
  });
});

describe("store on SQLite only: query plans", () => {
  it("uses an index for both event trims, never a scan of the whole table", async () => {
    const dir = mkdtempSync(join(tmpdir(), "landform-store-"));
    const store = await Store.sqlite(dir);
    try {
      await store.addEvent("s", event("One", 1));
      const db = openSqlite(join(dir, "control-plane.sqlite"), { readonly: true });
      const plan = (sql: string) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[])
          .map((r) => r.detail)
          .join("; ");
      expect(plan("DELETE FROM events WHERE at < 5")).toMatch(/USING (COVERING )?INDEX events_at/);
      expect(plan("DELETE FROM events WHERE service_id = 's' AND at < 5")).toMatch(
        /INDEX events_(service|at)/,
      );
      // The per-service trim (event-log.ts): past the age or the cap, in one statement.
      expect(
        plan(
          "DELETE FROM events WHERE service_id = 's' AND (at < 5 OR seq <= (SELECT seq FROM events WHERE service_id = 's' ORDER BY seq DESC LIMIT 1 OFFSET 10))",
        ),
      ).not.toMatch(/SCAN events(?! USING)/);
      // The health watch's pages (migration 7): from the index alone, no row read.
      expect(plan(SQL.converged.replace("?", "''").replace("?", "500"))).toMatch(
        /USING COVERING INDEX services_watched/,
      );
      db.close();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
