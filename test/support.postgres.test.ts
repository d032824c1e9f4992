/**
 * The test helper that starts a real PostgreSQL (test/support/postgres.ts):
 * other suites rely on it for the PostgreSQL store and the replicas' leases.
 */
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portOpen } from "./support/engines";
import { startPostgres, type TestPostgres, testPostgresBinaries } from "./support/postgres";

describe("test PostgreSQL server", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("answers on 127.0.0.1 with the version of the binaries it found", async () => {
    const client = new pg.Client({ connectionString: server.url() });
    await client.connect();
    try {
      const r = await client.query<{ server_version: string }>("SHOW server_version");
      expect(r.rows[0]!.server_version.split(" ")[0]).toBe(server.version);
    } finally {
      await client.end();
    }
  });

  it("runs as an unprivileged user when the tests run as root", () => {
    const pid = Number(
      fs.readFileSync(path.join(server.dir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0],
    );
    const uid = Number(/^Uid:\s+([0-9]+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    expect(uid).not.toBe(0);
    if (process.getuid?.() !== 0) expect(uid).toBe(process.getuid?.());
  });

  it("refuses a wrong password (SCRAM, not trust)", async () => {
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      user: server.user,
      password: "wrong",
      database: "postgres",
    });
    client.on("error", () => {});
    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
    await client.end().catch(() => {});
  });

  it("creates separate databases: a table in one is not in another", async () => {
    const a = await server.createDatabase();
    const b = await server.createDatabase("named_db");
    expect(a).not.toBe(b);
    expect(new URL(b).pathname).toBe("/named_db");
    const ca = new pg.Client({ connectionString: a });
    const cb = new pg.Client({ connectionString: b });
    await ca.connect();
    await cb.connect();
    try {
      await ca.query("CREATE TABLE only_here (x int)");
      await ca.query("INSERT INTO only_here VALUES (1)");
      expect((await ca.query("SELECT count(*)::int AS n FROM only_here")).rows[0].n).toBe(1);
      await expect(cb.query("SELECT * FROM only_here")).rejects.toThrow(/does not exist/);
    } finally {
      await ca.end();
      await cb.end();
    }
  });

  it("names the missing major and how to install it instead of skipping", () => {
    expect(() => testPostgresBinaries(99)).toThrow(/PostgreSQL 99|postgresql-99/);
  });
});

describe("stopping the test PostgreSQL server", () => {
  it("ends the server, frees its port and removes its folder", async () => {
    const server = await startPostgres();
    expect(await portOpen(server.port)).toBe(true);
    const pid = Number(
      fs.readFileSync(path.join(server.dir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0],
    );
    await server.stop();
    expect(await portOpen(server.port)).toBe(false);
    expect(fs.existsSync(server.dir)).toBe(false);
    expect(fs.existsSync(`/proc/${pid}`) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))).toBe(
      false,
    );
    await server.stop(); // a second stop is harmless
  });
});
