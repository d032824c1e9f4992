/**
 * One landform process per data dir.
 *
 * Two processes writing one data dir would overwrite each other's view of
 * every service (each keeps the service table in memory). The lock is an OS
 * file lock, not a pid file: it is a small SQLite database (`landform.lock`)
 * opened in exclusive locking mode and written once, which makes SQLite hold
 * an exclusive fcntl lock on it until the connection closes, and the kernel
 * drops that lock when the process dies, kill -9 included, so a crash never
 * leaves a stale lock behind. The holder's pid goes to a side file
 * (`landform.pid`) only to name it in the refusal; the lock itself never
 * reads it.
 *
 * Within one process the lock is shared and counted: `landform serve` opens
 * the control-plane store and the bundled backends' store on the same dir.
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { openSqlite } from "./sqlite-open";

export const LOCK_FILE = "landform.lock";
export const PID_FILE = "landform.pid";

/** Thrown when another process holds the data dir. */
export class DataDirLockedError extends Error {}

const held = new Map<string, { count: number; db: Database.Database }>();

/** Locks `dataDir` (creating it) for this process; returns the function that lets it go. */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const key = realpathSync(dataDir);
  let lock = held.get(key);
  if (!lock) {
    lock = { count: 0, db: acquire(dataDir) };
    held.set(key, lock);
  }
  lock.count += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const current = held.get(key);
    if (!current) return;
    current.count -= 1;
    if (current.count === 0) {
      held.delete(key);
      current.db.close();
    }
  };
}

function acquire(dataDir: string): Database.Database {
  // timeout 0: a held lock is an answer, not something to wait for.
  const db = openSqlite(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)");
    // The first write takes the exclusive lock; exclusive mode keeps it after COMMIT.
    db.transaction(() => {
      db.exec("DELETE FROM holder");
      db.prepare("INSERT INTO holder (pid) VALUES (?)").run(process.pid);
    }).immediate();
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code?.startsWith("SQLITE_BUSY")) {
      throw new DataDirLockedError(
        `the data dir ${dataDir} is in use by another landform process (${holderPid(dataDir)}); ` +
          "stop that process or choose another --data-dir",
      );
    }
    throw error;
  }
  writeFileSync(join(dataDir, PID_FILE), `${process.pid}\n`);
  return db;
}

function holderPid(dataDir: string): string {
  try {
    const pid = readFileSync(join(dataDir, PID_FILE), "utf8").trim();
    return /^\d+$/.test(pid) ? `pid ${pid}` : "pid unknown";
  } catch {
    return "pid unknown";
  }
}
