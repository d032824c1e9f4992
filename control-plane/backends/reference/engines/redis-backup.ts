/**
 * Backups of the Redis engine: an RDB snapshot (BGSAVE), read as soon as
 * Redis has written it; restore puts the snapshot where Redis loads it at its
 * first start. Redis has no log to replay, so there is no point-in-time
 * recovery (the catalog says so: pointInTimeRecovery false).
 *
 * The servers run with the append-only file on, and Redis 7 then loads only
 * the AOF folder at start, never dump.rdb: a restored snapshot becomes the
 * AOF's base file (an RDB, as `aof-use-rdb-preamble` writes them) with a
 * manifest naming it, which is the layout Redis itself writes.
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { giveTo, type RunAs } from "./os-user";
import { REDIS_ADMIN } from "./redis";
import { RespClient } from "./resp";

const SAVE_TIMEOUT_MS = 120_000;

/** Takes a snapshot of the running server and returns its bytes. */
export async function takeSnapshot(dir: string, port: number): Promise<Buffer> {
  const c = await RespClient.connect(port);
  try {
    await c.call("AUTH", REDIS_ADMIN, fs.readFileSync(path.join(dir, "admin.secret"), "utf8"));
    const info = async () => {
      const text = String(await c.call("INFO", "persistence"));
      return (name: string) => new RegExp(`${name}:([^\\r\\n]*)`).exec(text)?.[1];
    };
    // rdb_saves (Redis 7) counts snapshots written since start: the one asked for is the next one.
    const before = Number((await info())("rdb_saves"));
    if (!Number.isInteger(before))
      throw new Error("this Redis does not report rdb_saves (Redis 7 or later is needed)");
    // SCHEDULE: if an AOF rewrite runs, the save starts right after it instead of failing.
    await c.call("BGSAVE", "SCHEDULE");
    const deadline = Date.now() + SAVE_TIMEOUT_MS;
    for (;;) {
      const field = await info();
      if (field("rdb_bgsave_in_progress") === "0" && Number(field("rdb_saves")) > before) {
        if (field("rdb_last_bgsave_status") !== "ok") throw new Error("Redis could not write its snapshot");
        break;
      }
      if (Date.now() > deadline) throw new Error("Redis did not finish its snapshot in time");
      await sleep(100);
    }
    // Redis replaces dump.rdb by rename, so this read sees one whole snapshot.
    return fs.readFileSync(path.join(dir, "data", "dump.rdb"));
  } finally {
    c.close();
  }
}

/** The snapshot a stopped server wrote at shutdown. */
export function readDump(dir: string): Buffer {
  const file = path.join(dir, "data", "dump.rdb");
  if (!fs.existsSync(file)) throw new Error("the paused Redis server left no snapshot to back up");
  return fs.readFileSync(file);
}

/** Places `snapshot` in a new service's folder so that its first start loads it. */
export function placeSnapshot(dir: string, runAs: RunAs | null, snapshot: Buffer): void {
  const data = path.join(dir, "data");
  const aof = path.join(data, "appendonlydir");
  fs.rmSync(data, { recursive: true, force: true });
  fs.mkdirSync(aof, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(aof, "appendonly.aof.1.base.rdb"), snapshot);
  fs.writeFileSync(
    path.join(aof, "appendonly.aof.manifest"),
    "file appendonly.aof.1.base.rdb seq 1 type b\n",
  );
  // Also as dump.rdb: a server started without the append-only file loads that.
  fs.writeFileSync(path.join(data, "dump.rdb"), snapshot);
  giveTo(runAs, data);
}
