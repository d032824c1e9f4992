/**
 * Backups of real servers through the public API of `landform serve`, into a
 * real S3-compatible store (versitygw): a PostgreSQL service is backed up
 * (base backup plus continuously archived WAL) and restored into new
 * services by backup id and to a point in time, exact to the transaction; a
 * Redis service is backed up as an RDB snapshot and restored by id. Needs
 * PostgreSQL 15 and redis-server (see test/engines.postgres.test.ts) and the
 * versitygw build (test/support/s3.ts); without them it fails.
 */
import fs from "node:fs";
import path from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RespClient } from "../control-plane/backends/reference/engines/resp";
import { CodesphereClient, type ManagedService, waitForState } from "../sdk";
import { engineDir, eventually, pgConnect, processesUnder } from "./support/engines";
import { type S3Server, startS3Server } from "./support/s3";
import { ServedControlPlane } from "./support/serve";

const USER = "backup_user_q4";
const PASSWORD = "pg-pass-Bk21-hazel";
const REDIS_PASSWORD = "redis-pass-Rz08-cedar";
const BUCKET = "engine-backups";
const TIMEOUT = { timeoutMs: 120_000 };

let s3: S3Server;
let cp: ServedControlPlane;
let client: CodesphereClient;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.bucket(BUCKET);
  cp = await ServedControlPlane.start({ tokens: ["backup-engine-token=1"] });
  client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "backup-engine-token", maxRetries: 2 });
}, 600_000);

afterAll(async () => {
  await client?.close();
  const dataDir = cp?.dataDir;
  await cp?.close();
  await s3?.close();
  if (dataDir) expect(processesUnder(dataDir)).toEqual([]);
});

function store(prefix: string) {
  return {
    config: { endpointUrl: s3.endpoint, destinationPath: `s3://${BUCKET}/${prefix}` },
    secrets: { accessKey: s3.accessKey, secretKey: s3.secretKey },
  };
}

function pgRequest(name: string, extra: Record<string, unknown> = {}) {
  return {
    teamId: 1,
    name,
    provider: { name: "postgresql", version: "15" },
    plan: { id: 0, parameters: { storage: 5 } },
    config: { max_connections: "100" },
    secrets: { username: USER, password: PASSWORD },
    ...extra,
  };
}

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client().send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: prefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    for (const o of page.Contents ?? []) out.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

/** Asks for a backup now and waits until the control plane has it confirmed. */
async function backUp(id: string): Promise<string> {
  const entry = await client.managedServices.scheduleBackup(id);
  await waitForState(
    client,
    id,
    (s) => s.backups.entries.some((e) => e.id === entry.id && e.confirmedAt),
    TIMEOUT,
  );
  return entry.id;
}

async function items(service: ManagedService): Promise<string[]> {
  const db = await eventually(
    () => pgConnect(service.details as Record<string, unknown>, USER, PASSWORD),
    30_000,
  );
  try {
    return (await db.query<{ item: string }>("SELECT item FROM orders ORDER BY id")).rows.map((r) => r.item);
  } finally {
    await db.end();
  }
}

async function insert(db: pg.Client, ...values: string[]): Promise<void> {
  for (const v of values) await db.query("INSERT INTO orders (item) VALUES ($1)", [v]);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("postgresql 15: base backups, archived WAL, restore by id and to a point in time", () => {
  let source: ManagedService;
  let backupId: string;
  let pointInTime: string;

  it("backs up a running server: a base backup and its WAL in the store, the manifest last", async () => {
    const created = await client.managedServices.create(
      pgRequest("pg-backed-up", {
        backups: { enabled: true, intervalH: 24, deleteRetentionDays: 7, ...store("pg") },
      }),
    );
    source = await waitForState(client, created.id, "synchronized", TIMEOUT);
    expect((source.details as Record<string, unknown>).simulated).toBeUndefined();
    const db = await pgConnect(source.details as Record<string, unknown>, USER, PASSWORD);
    try {
      await db.query("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)");
      await insert(db, "a1", "a2");
    } finally {
      await db.end();
    }
    backupId = await backUp(source.id);
    const stored = await keys(`pg/1/${source.id}/`);
    expect(stored).toContain(`pg/1/${source.id}/${backupId}.json`);
    expect(stored).toContain(`pg/1/${source.id}/${backupId}/base.tar.gz`);
    expect(stored.some((k) => /\/wal\/[0-9A-F]{24}\.gz$/.test(k))).toBe(true);
  });

  it("restores a new server from the backup id with exactly that backup's rows", async () => {
    // Rows committed after the backup must not come back with it.
    const db = await pgConnect(source.details as Record<string, unknown>, USER, PASSWORD);
    try {
      await insert(db, "after-backup");
    } finally {
      await db.end();
    }
    const created = await client.managedServices.create(
      pgRequest("pg-from-backup", { recoverFrom: { id: backupId, ...store("pg") } }),
    );
    const restored = await waitForState(client, created.id, "synchronized", TIMEOUT);
    expect(await items(restored)).toEqual(["a1", "a2"]);
    expect((restored.details as Record<string, unknown>).port).not.toBe(
      (source.details as Record<string, unknown>).port,
    );
  });

  it("restores to a point in time: exactly the rows committed before it", async () => {
    const db = await pgConnect(source.details as Record<string, unknown>, USER, PASSWORD);
    try {
      await insert(db, "a3");
      // Commit timestamps have microseconds, the API's time milliseconds: keep clear of both edges.
      await pause(50);
      pointInTime = new Date().toISOString();
      await pause(50);
      await insert(db, "b1", "b2");
    } finally {
      await db.end();
    }
    const created = await client.managedServices.create(
      pgRequest("pg-point-in-time", { recoverFrom: { msId: source.id, time: pointInTime, ...store("pg") } }),
    );
    const restored = await waitForState(client, created.id, "synchronized", TIMEOUT);
    expect(await items(restored)).toEqual(["a1", "a2", "after-backup", "a3"]);
    // The source keeps everything.
    expect(await items(await client.managedServices.get(source.id))).toEqual([
      "a1",
      "a2",
      "after-backup",
      "a3",
      "b1",
      "b2",
    ]);
  });

  it("keeps archived WAL in the spool while the store is down and ships it once it is back", async () => {
    const spool = path.join(engineDir(cp.dataDir, "postgresql", source.id), "wal-spool");
    await s3.stop();
    let middle = "";
    try {
      const db = await pgConnect(source.details as Record<string, unknown>, USER, PASSWORD);
      try {
        await insert(db, "d1");
        await pause(50);
        middle = new Date().toISOString();
        await pause(50);
        // About 40 MB of WAL: finished segments PostgreSQL archives into the spool while the store is away.
        await db.query(
          "CREATE TABLE filler AS SELECT g AS n, repeat('x', 100) AS pad FROM generate_series(1, 300000) g",
        );
        await insert(db, "d2");
      } finally {
        await db.end();
      }
      const held = await eventually(async () => {
        const files = fs.readdirSync(spool).filter((f) => /^[0-9A-F]{24}$/.test(f));
        if (files.length < 2) throw new Error(`only ${files.length} segments in the spool`);
        return files;
      }, 30_000);
      // Still there a few shipping rounds later: nothing is dropped while the store is unreachable.
      await pause(3_000);
      for (const f of held) expect(fs.existsSync(path.join(spool, f))).toBe(true);
      expect(cp.output).toContain("WAL shipping failed; the segments stay in the spool and are retried");
    } finally {
      await s3.start();
    }
    const created = await client.managedServices.create(
      pgRequest("pg-after-outage", { recoverFrom: { msId: source.id, time: middle, ...store("pg") } }),
    );
    const restored = await waitForState(client, created.id, "synchronized", TIMEOUT);
    expect(await items(restored)).toEqual(["a1", "a2", "after-backup", "a3", "b1", "b2", "d1"]);
    await eventually(async () => {
      if (fs.readdirSync(spool).some((f) => /^[0-9A-F]{24}$/.test(f))) throw new Error("spool not empty yet");
    }, 30_000);
  });

  it("a restored service takes writes and backups of its own, on its new timeline", async () => {
    const list = await client.managedServices.list({ team: 1 });
    const restored = list.find((s) => s.name === "pg-point-in-time")!;
    await client.managedServices.update(restored.id, {
      backups: { enabled: true, intervalH: 24, deleteRetentionDays: 7, ...store("pg") },
    });
    const db = await pgConnect(restored.details as Record<string, unknown>, USER, PASSWORD);
    try {
      await insert(db, "c1");
    } finally {
      await db.end();
    }
    const own = await backUp(restored.id);
    const copy = await client.managedServices.create(
      pgRequest("pg-copy-of-copy", { recoverFrom: { id: own, ...store("pg") } }),
    );
    const ready = await waitForState(client, copy.id, "synchronized", TIMEOUT);
    expect(await items(ready)).toEqual(["a1", "a2", "after-backup", "a3", "c1"]);
    // The restored server was promoted onto timeline 2: its archived WAL says so.
    const wal = await keys(`pg/1/${restored.id}/wal/`);
    expect(wal.some((k) => /\/00000002[0-9A-F]{16}\.gz$/.test(k))).toBe(true);
  });

  it("takes the final backup of a paused server before deleting it (a cold copy), and it restores by id", async () => {
    // Scheduled backups wait while a service is paused; the final one before a delete does not.
    await client.managedServices.update(source.id, { pause: true });
    await waitForState(client, source.id, "paused", TIMEOUT);
    await client.managedServices.delete(source.id);
    const deleted = await waitForState(client, source.id, "deleted", TIMEOUT);
    const final = deleted.backups.entries.find((e) => e.confirmedAt && e.id !== backupId)!;
    expect(deleted.recentEvents!.map((e) => e.eventName)).toContain("FinalBackupScheduled");
    const created = await client.managedServices.create(
      pgRequest("pg-from-paused", { recoverFrom: { id: final.id, ...store("pg") } }),
    );
    const restored = await waitForState(client, created.id, "synchronized", TIMEOUT);
    expect(await items(restored)).toEqual(["a1", "a2", "after-backup", "a3", "b1", "b2", "d1", "d2"]);
  });

  it("never shows the store's secret key or the database password in events or logs", async () => {
    for (const s of await client.managedServices.list({ team: 1 })) {
      const events = JSON.stringify(await client.managedServices.events(s.id));
      expect(events).not.toContain(s3.secretKey);
      expect(events).not.toContain(PASSWORD);
    }
    expect(cp.output).not.toContain(s3.secretKey);
    expect(cp.output).not.toContain(PASSWORD);
  });
});

describe("postgresql 14: the older backup functions (pg_start_backup, pg_stop_backup)", () => {
  it("backs up and restores to a point in time", async () => {
    const created = await client.managedServices.create({
      ...pgRequest("pg14-backed-up", {
        backups: { enabled: true, intervalH: 24, deleteRetentionDays: 7, ...store("pg14") },
      }),
      provider: { name: "postgresql", version: "14" },
    });
    const source = await waitForState(client, created.id, "synchronized", TIMEOUT);
    expect((source.details as Record<string, unknown>).serverVersion).toMatch(/^14\./);
    const db = await pgConnect(source.details as Record<string, unknown>, USER, PASSWORD);
    let middle = "";
    try {
      await db.query("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)");
      await insert(db, "x1");
      await backUp(source.id);
      await insert(db, "x2");
      await pause(50);
      middle = new Date().toISOString();
      await pause(50);
      await insert(db, "y1");
    } finally {
      await db.end();
    }
    const restored = await client.managedServices.create({
      ...pgRequest("pg14-point-in-time", {
        recoverFrom: { msId: source.id, time: middle, ...store("pg14") },
      }),
      provider: { name: "postgresql", version: "14" },
    });
    const ready = await waitForState(client, restored.id, "synchronized", TIMEOUT);
    expect((ready.details as Record<string, unknown>).serverVersion).toMatch(/^14\./);
    expect(await items(ready)).toEqual(["x1", "x2"]);
  });
});

describe("redis: RDB snapshots", () => {
  it("restores a new Redis from a backup id with the keys of that snapshot", async () => {
    const created = await client.managedServices.create({
      teamId: 1,
      name: "redis-backed-up",
      provider: { name: "redis", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: {},
      secrets: { password: REDIS_PASSWORD },
      backups: { enabled: true, intervalH: 24, deleteRetentionDays: 7, ...store("redis") },
    });
    const source = await waitForState(client, created.id, "synchronized", TIMEOUT);
    const port = Number((source.details as Record<string, unknown>).port);
    const c = await RespClient.connect(port);
    try {
      await c.call("AUTH", REDIS_PASSWORD);
      await c.call("SET", "before", "1");
      const entry = await client.managedServices.scheduleBackup(source.id);
      await waitForState(
        client,
        source.id,
        (s) => s.backups.entries.some((e) => e.id === entry.id && e.confirmedAt),
        TIMEOUT,
      );
      await c.call("SET", "after", "2");
      expect(await keys(`redis/1/${source.id}/${entry.id}/`)).toEqual([
        `redis/1/${source.id}/${entry.id}/dump.rdb`,
      ]);

      const restored = await client.managedServices.create({
        teamId: 1,
        name: "redis-restored",
        provider: { name: "redis", version: "v1" },
        plan: { id: 0, parameters: {} },
        config: {},
        secrets: { password: REDIS_PASSWORD },
        recoverFrom: { id: entry.id, ...store("redis") },
      });
      const ready = await waitForState(client, restored.id, "synchronized", TIMEOUT);
      const r = await RespClient.connect(Number((ready.details as Record<string, unknown>).port));
      try {
        await r.call("AUTH", REDIS_PASSWORD);
        expect(await r.call("KEYS", "*")).toEqual(["before"]);
      } finally {
        r.close();
      }
      // Paused, then deleted: the final backup is the snapshot Redis wrote when it stopped.
      await client.managedServices.update(source.id, { pause: true });
      await waitForState(client, source.id, "paused", TIMEOUT);
      await client.managedServices.delete(source.id);
      const deleted = await waitForState(client, source.id, "deleted", TIMEOUT);
      const cold = deleted.backups.entries.find((e) => e.id !== entry.id && e.confirmedAt)!;
      const again = await client.managedServices.create({
        teamId: 1,
        name: "redis-from-paused",
        provider: { name: "redis", version: "v1" },
        plan: { id: 0, parameters: {} },
        config: {},
        secrets: { password: REDIS_PASSWORD },
        recoverFrom: { id: cold.id, ...store("redis") },
      });
      const second = await waitForState(client, again.id, "synchronized", TIMEOUT);
      const r2 = await RespClient.connect(Number((second.details as Record<string, unknown>).port));
      try {
        await r2.call("AUTH", REDIS_PASSWORD);
        expect(((await r2.call("KEYS", "*")) as string[]).sort()).toEqual(["after", "before"]);
      } finally {
        r2.close();
      }
      for (const id of [source.id, restored.id, again.id]) {
        const events = JSON.stringify(await client.managedServices.events(id));
        expect(events).not.toContain(REDIS_PASSWORD);
        expect(events).not.toContain(s3.secretKey);
      }
      expect(cp.output).not.toContain(REDIS_PASSWORD);
      expect(cp.output).not.toContain(s3.secretKey);
    } finally {
      c.close();
    }
  });
});
