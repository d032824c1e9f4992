/**
 * Real FerretDB servers behind `landform serve`: a ferretdb service speaks
 * the MongoDB wire protocol on its own port, refuses work before a SCRAM
 * login with the service's superuserPassword, keeps its documents across
 * pause and resume, and is gone after delete. The client is the minimal
 * OP_MSG one in ./support/mongo-wire.ts (no MongoDB driver is installed).
 * FerretDB is built into the tools cache here when missing (`landform tools
 * --ferretdb`); the suite fails if it cannot be.
 */
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureFerretdb } from "../cli/tools";
import { MongoWire } from "../control-plane/backends/reference/engines/mongo-wire";
import { CodesphereClient, waitForDeleted, waitForState } from "../sdk";
import { engineDir, eventually, portOpen, processesUnder } from "./support/engines";
import { ServedControlPlane } from "./support/serve";

const PASSWORD = "ferret-pw-Jt83-lagoon";
const TIMEOUT = { timeoutMs: 60_000 };

let cp: ServedControlPlane;
let client: CodesphereClient;

beforeAll(async () => {
  await ensureFerretdb();
  cp = await ServedControlPlane.start({ tokens: ["fdb-token=1"] });
  client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "fdb-token", maxRetries: 2 });
}, 900_000);

afterAll(async () => {
  await client?.close();
  const dataDir = cp?.dataDir;
  await cp?.close();
  if (dataDir) expect(processesUnder(dataDir)).toEqual([]);
});

async function loggedIn(port: number): Promise<MongoWire> {
  const c = await MongoWire.connect(port);
  await c.login("postgres", PASSWORD);
  return c;
}

describe("ferretdb: a real MongoDB-compatible server per service", () => {
  let id: string;
  let port: number;

  it("answers hello, refuses work before login and with a wrong password, stores documents after", async () => {
    const created = await client.managedServices.create({
      teamId: 1,
      name: "documents",
      provider: { name: "ferretdb", version: "v0" },
      plan: { id: 0, parameters: {} },
      config: {},
      secrets: { superuserPassword: PASSWORD },
    });
    id = created.id;
    const synced = await waitForState(client, id, "synchronized", TIMEOUT);
    const details = synced.details as Record<string, unknown>;
    expect(details).toMatchObject({ hostname: "127.0.0.1", ready: true, serverVersion: "1.24.2" });
    expect(details.simulated).toBeUndefined();
    port = Number(details.port);
    expect(details.dsn).toBe(`mongodb://postgres@127.0.0.1:${port}/admin`);
    expect(JSON.stringify(details)).not.toContain(PASSWORD);

    const anonymous = await MongoWire.connect(port);
    try {
      expect(await anonymous.command("admin", { hello: 1 })).toMatchObject({
        ok: 1,
        isWritablePrimary: true,
      });
      expect(await anonymous.command("shop", { insert: "items", documents: [{ sku: "x" }] })).toMatchObject({
        ok: 0,
        codeName: "Unauthorized",
      });
      await expect(anonymous.login("postgres", "not-the-password")).rejects.toThrow(/Authentication failed/);
    } finally {
      anonymous.close();
    }
    const c = await loggedIn(port);
    try {
      expect(
        await c.command("shop", {
          insert: "items",
          documents: [
            { sku: "kettle", qty: 3 },
            { sku: "mug", qty: 12 },
          ],
        }),
      ).toMatchObject({ ok: 1, n: 2 });
      const found = await c.command("shop", { find: "items", filter: { sku: "mug" } });
      expect((found.cursor as { firstBatch: unknown[] }).firstBatch).toEqual([
        expect.objectContaining({ sku: "mug", qty: 12 }),
      ]);
    } finally {
      c.close();
    }
    expect(cp.output).not.toContain(PASSWORD);
  });

  it("refuses connections while paused and keeps the documents across pause and resume", async () => {
    await client.managedServices.update(id, { pause: true });
    await waitForState(client, id, "paused", TIMEOUT);
    expect(await portOpen(port)).toBe(false);
    await client.managedServices.update(id, { pause: false });
    await waitForState(client, id, "synchronized", TIMEOUT);
    const c = await eventually(() => loggedIn(port));
    try {
      const found = await c.command("shop", { find: "items", filter: {} });
      expect((found.cursor as { firstBatch: { sku: string }[] }).firstBatch.map((d) => d.sku).sort()).toEqual(
        ["kettle", "mug"],
      );
    } finally {
      c.close();
    }
    // The setup file with the password was removed after the first start.
    expect(fs.existsSync(`${engineDir(cp.dataDir, "ferretdb", id)}/setup.env`)).toBe(false);
  });

  it("changes the password in place: the old one is refused, the new one works", async () => {
    const rotated = "ferret-pw-Rr52-harbour";
    await client.managedServices.update(id, { secrets: { superuserPassword: rotated } });
    await waitForState(client, id, "synchronized", TIMEOUT);
    const old = await MongoWire.connect(port);
    try {
      await expect(old.login("postgres", PASSWORD)).rejects.toThrow(/Authentication failed/);
    } finally {
      old.close();
    }
    const c = await MongoWire.connect(port);
    try {
      await c.login("postgres", rotated);
      const found = await c.command("shop", { find: "items", filter: { sku: "kettle" } });
      expect((found.cursor as { firstBatch: unknown[] }).firstBatch).toHaveLength(1);
    } finally {
      c.close();
    }
    expect(cp.output).not.toContain(rotated);
  });

  it("comes back with its documents after landform serve is killed and started again", async () => {
    // Killed, landform serve leaves the server running; the next start stops it (pid file) and starts it anew.
    await cp.restart("SIGKILL");
    await client.close();
    client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "fdb-token", maxRetries: 2 });
    const c = await eventually(async () => {
      const conn = await MongoWire.connect(port);
      await conn.login("postgres", "ferret-pw-Rr52-harbour");
      return conn;
    });
    try {
      const found = await c.command("shop", { find: "items", filter: {} });
      expect((found.cursor as { firstBatch: unknown[] }).firstBatch).toHaveLength(2);
    } finally {
      c.close();
    }
    await waitForState(client, id, "synchronized", TIMEOUT);
  });

  it("deletes the server: the port closes and the data folder goes", async () => {
    await client.managedServices.delete(id);
    await waitForDeleted(client, id, TIMEOUT);
    await eventually(async () => {
      expect(await portOpen(port)).toBe(false);
      expect(fs.existsSync(engineDir(cp.dataDir, "ferretdb", id))).toBe(false);
    });
  });
});
