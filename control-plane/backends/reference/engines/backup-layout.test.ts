import { describe, expect, it } from "vitest";
import { ENGINE_BACKUP_FORMAT, manifestKey, parseManifest, partKey, walFolder } from "./backup-layout";
import { nextSegment } from "./engine-restore";
import { pgTimestamp } from "./pg-restore";

const loc = { endpoint: "http://127.0.0.1:9", region: "us-east-1", bucket: "b", prefix: "p" };

const manifest = {
  format: ENGINE_BACKUP_FORMAT,
  version: 1,
  engine: "postgres",
  major: 15,
  provider: "postgresql",
  teamId: 1,
  msId: "ms",
  backupId: "b1",
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:00:01.000Z",
  parts: [{ name: "base.tar.gz", bytes: 10 }],
  postgres: {
    startLsn: "0/2000028",
    stopLsn: "0/2000100",
    startWal: "000000010000000000000002",
    stopWal: "000000010000000000000002",
    timeline: 1,
    label: "START WAL LOCATION: 0/2000028",
    tablespaceMap: "",
  },
};

describe("the object layout of engine backups", () => {
  it("puts the manifest where simulated backups keep their object, and parts and WAL beside it", () => {
    expect(manifestKey(loc, 3, "ms", "b1")).toBe("p/3/ms/b1.json");
    expect(partKey(loc, 3, "ms", "b1", "base.tar.gz")).toBe("p/3/ms/b1/base.tar.gz");
    expect(walFolder(loc, 3, "ms")).toBe("p/3/ms/wal/");
  });

  it("reads a manifest back, and says why a text is not one", () => {
    expect(parseManifest(JSON.stringify(manifest))).toEqual(manifest);
    expect(parseManifest("{")).toBe("is not JSON");
    expect(parseManifest(JSON.stringify({ format: "landform-reference-backup", data: {} }))).toMatch(
      /simulated data set/,
    );
    expect(parseManifest(JSON.stringify({ ...manifest, version: 2 }))).toMatch(/version 2/);
    expect(parseManifest(JSON.stringify({ ...manifest, engine: "mysql" }))).toMatch(/no known engine/);
    expect(parseManifest(JSON.stringify({ ...manifest, postgres: undefined }))).toMatch(/PostgreSQL part/);
  });

  it("counts WAL segments across a log id boundary", () => {
    expect(nextSegment("000000010000000000000002")).toBe("000000010000000000000003");
    expect(nextSegment("0000000100000000000000FF")).toBe("000000010000000100000000");
    expect(nextSegment("00000002000000A0000000FE")).toBe("00000002000000A0000000FF");
  });

  it("writes times as recovery_target_time reads them, to the millisecond", () => {
    expect(pgTimestamp(Date.UTC(2026, 11, 4, 21, 10, 16, 695))).toBe("2026-12-04 21:10:16.695+00");
  });
});
