/**
 * Ships the WAL segments PostgreSQL archived into each service's spool
 * (./pg-backup.ts) to the service's backup store, oldest first, and removes a
 * segment from the spool only once it is uploaded: while the store is
 * unreachable the spool grows and nothing is lost; the next round retries.
 *
 * A service that has never been backed up has no store to ship to; its
 * segments are dropped, since no base backup exists that they could be
 * replayed on (the first backup writes the target before it starts).
 */
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { storeSettings } from "../backup-store";
import { readTarget, walFolder } from "./backup-layout";
import { BlobStore } from "./blob-store";
import { SPOOL_DIR } from "./pg-backup";

const gzip = promisify(zlib.gzip);
const ROUND_MS = 1_000;
/** Providers whose services run PostgreSQL. */
const PG_PROVIDERS = ["postgres", "postgresql"];
const WAL_NAME = /^[0-9A-F]{8}(\.history|[0-9A-F]{16}(\.[0-9A-F]{8}\.backup|\.partial)?)$/;

export class WalShipper {
  private timer: NodeJS.Timeout | undefined;
  /** One chain of rounds per service folder, so a flush waits for the round in flight. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Folders whose last round failed, so a store that stays down is logged once, not every second. */
  private readonly failing = new Set<string>();

  constructor(
    private readonly enginesRoot: string,
    private readonly log: (rec: Record<string, unknown>) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.round(), ROUND_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.chains.values()]);
  }

  /** Ships everything in the service's spool now; rejects if a segment could not be uploaded. */
  flush(dir: string): Promise<void> {
    return this.enqueue(dir, true);
  }

  private round(): void {
    for (const provider of PG_PROVIDERS) {
      const folder = path.join(this.enginesRoot, provider);
      let names: string[];
      try {
        names = fs.readdirSync(folder);
      } catch {
        continue;
      }
      for (const name of names) {
        const dir = path.join(folder, name);
        if (this.chains.has(dir)) continue;
        if (pending(dir).length > 0) void this.enqueue(dir, false).catch(() => {});
      }
    }
  }

  private enqueue(dir: string, strict: boolean): Promise<void> {
    const previous = this.chains.get(dir) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(() => this.ship(dir, strict));
    this.chains.set(dir, next);
    void next
      .catch(() => {})
      .finally(() => {
        if (this.chains.get(dir) === next) this.chains.delete(dir);
      });
    return next;
  }

  private async ship(dir: string, strict: boolean): Promise<void> {
    const files = pending(dir);
    if (files.length === 0) return;
    const spool = path.join(dir, SPOOL_DIR);
    const target = readTarget(dir);
    const settings = target ? storeSettings(target.config, target.secrets) : undefined;
    if (!target || !settings || "problems" in settings) {
      for (const f of files) fs.rmSync(path.join(spool, f), { force: true });
      return;
    }
    const store = new BlobStore(settings);
    const folder = walFolder(settings.location, target.teamId, target.msId);
    let shipped = 0;
    try {
      for (const f of files) {
        const file = path.join(spool, f);
        const body = await gzip(fs.readFileSync(file), { level: 1 });
        await store.put(`${folder}${f}.gz`, body);
        fs.rmSync(file, { force: true });
        shipped += 1;
      }
      if (this.failing.delete(dir)) {
        this.log({ level: "info", msg: "WAL shipping resumed", msId: target.msId, segments: shipped });
      }
    } catch (err) {
      if (!this.failing.has(dir)) {
        this.failing.add(dir);
        this.log({
          level: "warn",
          msg: "WAL shipping failed; the segments stay in the spool and are retried",
          msId: target.msId,
          waiting: files.length - shipped,
          error: err instanceof Error ? err.message : "unknown",
        });
      }
      if (strict) throw err;
    } finally {
      store.close();
    }
  }
}

/** The finished WAL files in a service's spool, oldest first (names sort by timeline and position). */
function pending(dir: string): string[] {
  try {
    return fs
      .readdirSync(path.join(dir, SPOOL_DIR))
      .filter((f) => WAL_NAME.test(f))
      .sort();
  } catch {
    return [];
  }
}
