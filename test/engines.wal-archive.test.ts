/**
 * The WAL archive of real PostgreSQL services against a real S3-compatible
 * store (versitygw): segments leave a service's spool only once uploaded (a
 * store that is down keeps them there), a service never backed up has no
 * archive, and deleting a backup prunes the WAL no remaining backup needs.
 * The segments here are files of the spool's shape, not a server's: the
 * server side is covered by test/engines.backups.test.ts.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeSettings } from "../control-plane/backends/reference/backup-store";
import {
  ENGINE_BACKUP_FORMAT,
  manifestKey,
  writeTarget,
} from "../control-plane/backends/reference/engines/backup-layout";
import { BlobStore } from "../control-plane/backends/reference/engines/blob-store";
import { pruneWal } from "../control-plane/backends/reference/engines/wal-retention";
import { WalShipper } from "../control-plane/backends/reference/engines/wal-shipper";
import { type S3Server, startS3Server } from "./support/s3";

const BUCKET = "wal-archive";
const SEG = (n: number) => `00000001000000000000000${n}`;
let s3: S3Server;
let root: string;
const logs: Record<string, unknown>[] = [];
let shipper: WalShipper;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.bucket(BUCKET);
  root = fs.mkdtempSync(path.join(os.tmpdir(), "lf-wal-"));
  shipper = new WalShipper(root, (r) => logs.push(r));
}, 600_000);

afterAll(async () => {
  await shipper?.close();
  await s3?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

function target() {
  return {
    config: { endpointUrl: s3.endpoint, destinationPath: `s3://${BUCKET}/w` },
    secrets: { accessKey: s3.accessKey, secretKey: s3.secretKey },
  };
}

function blobs(): BlobStore {
  const settings = storeSettings(target().config, target().secrets);
  if ("problems" in settings) throw new Error(settings.problems.join("; "));
  return new BlobStore(settings);
}

/** A service folder with WAL files in its spool; returns the folder and the files' bytes. */
function service(id: string, names: string[]): { dir: string; bodies: Map<string, Buffer> } {
  const dir = path.join(root, "postgresql", id);
  fs.mkdirSync(path.join(dir, "wal-spool"), { recursive: true });
  const bodies = new Map<string, Buffer>();
  for (const n of names) {
    const body = randomBytes(4096);
    fs.writeFileSync(path.join(dir, "wal-spool", n), body);
    bodies.set(n, body);
  }
  return { dir, bodies };
}

async function walKeys(msId: string): Promise<string[]> {
  const b = blobs();
  try {
    return (await b.list(`w/1/${msId}/wal/`)).map((k) => k.slice(`w/1/${msId}/wal/`.length)).sort();
  } finally {
    b.close();
  }
}

describe("WAL shipping", () => {
  it("keeps the spool while the store is down, and ships it, gzip, once it is back", async () => {
    const { dir, bodies } = service("svc-a", [SEG(2), SEG(3), "00000002.history"]);
    writeTarget(dir, { teamId: 1, msId: "svc-a", ...target() });
    // A copy still being written (".part") is never shipped.
    fs.writeFileSync(path.join(dir, "wal-spool", `${SEG(4)}.part`), "half");
    await s3.stop();
    try {
      await expect(shipper.flush(dir)).rejects.toThrow(/unreachable/);
      expect(fs.readdirSync(path.join(dir, "wal-spool")).sort()).toEqual(
        [...bodies.keys(), `${SEG(4)}.part`].sort(),
      );
      const warning = logs.find((l) => String(l.msg).startsWith("WAL shipping failed"));
      expect(warning).toMatchObject({ level: "warn", msId: "svc-a", waiting: 3 });
      expect(JSON.stringify(logs)).not.toContain(s3.secretKey);
    } finally {
      await s3.start();
    }
    await shipper.flush(dir);
    expect(fs.readdirSync(path.join(dir, "wal-spool"))).toEqual([`${SEG(4)}.part`]);
    expect(await walKeys("svc-a")).toEqual([...bodies.keys()].map((n) => `${n}.gz`).sort());
    const b = blobs();
    try {
      const stored = await b.get(`w/1/svc-a/wal/${SEG(2)}.gz`);
      expect(gunzipSync(stored!)).toEqual(bodies.get(SEG(2)));
    } finally {
      b.close();
    }
    expect(logs.some((l) => l.msg === "WAL shipping resumed")).toBe(true);
  });

  it("drops the WAL of a service that was never backed up (no base backup could use it)", async () => {
    const { dir } = service("svc-b", [SEG(5)]);
    await shipper.flush(dir);
    expect(fs.readdirSync(path.join(dir, "wal-spool"))).toEqual([]);
    expect(await walKeys("svc-b")).toEqual([]);
  });
});

describe("WAL retention", () => {
  const manifest = (backupId: string, startWal: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      format: ENGINE_BACKUP_FORMAT,
      version: 1,
      engine: "postgres",
      major: 15,
      provider: "postgresql",
      teamId: 1,
      msId: "svc-c",
      backupId,
      startedAt: "2026-01-01T00:00:00.000Z",
      finishedAt: "2026-01-01T00:00:01.000Z",
      parts: [],
      postgres: {
        startLsn: "",
        stopLsn: "",
        startWal,
        stopWal: startWal,
        timeline: 1,
        label: "x",
        tablespaceMap: "",
      },
      ...extra,
    });

  it("deletes the segments older than the oldest remaining backup, and all of them once the service is gone", async () => {
    const b = blobs();
    const loc = b.location;
    try {
      for (const n of [SEG(1), SEG(2), SEG(3), SEG(4), "00000002.history"]) {
        await b.put(`w/1/svc-c/wal/${n}.gz`, "x");
      }
      await b.put(manifestKey(loc, 1, "svc-c", "b3"), manifest("b3", SEG(3)));
      // b1 (from segment 1) is the one being deleted: its manifest may still be listed.
      await b.put(manifestKey(loc, 1, "svc-c", "b1"), manifest("b1", SEG(1)));
      expect(await pruneWal(b, 1, "svc-c", "b1", false)).toBe(2);
      expect(await walKeys("svc-c")).toEqual([`${SEG(3)}.gz`, `${SEG(4)}.gz`, "00000002.history.gz"]);

      // A cold copy records no WAL position: nothing goes while one remains.
      await b.put(manifestKey(loc, 1, "svc-c", "cold"), manifest("cold", "", { postgres: { cold: true } }));
      expect(await pruneWal(b, 1, "svc-c", "b3", true)).toBe(0);
      await b.delete(manifestKey(loc, 1, "svc-c", "cold"));

      // The last backup deleted while the service still runs: a backup in flight may need the archive.
      await b.delete(manifestKey(loc, 1, "svc-c", "b1"));
      expect(await pruneWal(b, 1, "svc-c", "b3", false)).toBe(0);
      // Service gone, no backup left: the segments go (timeline histories are kept).
      expect(await pruneWal(b, 1, "svc-c", "b3", true)).toBe(2);
      expect(await walKeys("svc-c")).toEqual(["00000002.history.gz"]);
    } finally {
      b.close();
    }
  });
});
