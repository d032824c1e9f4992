/**
 * The backup part of a reconcile step: schedule, start, confirm, expire and
 * abandon backups, and take the final backup before a delete.
 *
 * No orphaned objects: a backup's entry (its id) is made durable before the
 * backend is first asked to take it (`commit`), so neither a crash nor a
 * step dropped on a revision conflict can leave an object in the backup
 * store that no record knows about. The backend contract's PUT /backups/BID
 * is idempotent per id, so a step that is lost after the PUT simply sends it
 * again. When a step does lose the race, the progress it made with the
 * backend is merged into the newer record (`mergeBackupProgress`).
 *
 * Bounded growth: an unconfirmed backup is abandoned (its object deleted
 * through the backend where one may exist, the entry dropped, a
 * BackupAbandoned event recorded) after MAX_FAILURES failed attempts, when
 * older than UNCONFIRMED_MAX_AGE_MS, or when more than MAX_UNCONFIRMED wait
 * (the oldest go first). The final backup before a delete is never abandoned:
 * the delete waits for it; after MAX_FAILURES failures in a row a
 * FinalBackupFailed event says how to mend it (docs/decisions/018).
 */
import { randomUUID } from "node:crypto";
import { type BackendClient, BackendError } from "../backends/client";
import type { BackupRecord, ServiceRecord } from "../store/store";

export const MAX_FAILURES = 5;
export const MAX_UNCONFIRMED = 5;
export const UNCONFIRMED_MAX_AGE_MS = 3 * 86_400_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Thrown when the record changed while the step ran: end the step, look again with the new one. */
export class StepSuperseded extends Error {}

export interface BackupContext {
  now(): number;
  event(
    r: ServiceRecord,
    name: string,
    body: string,
    severity?: "info" | "warn" | "error",
    attributes?: Record<string, string>,
  ): void;
  secrets(owner: string, kind: "backups"): Promise<Record<string, unknown>>;
  /** Backend text made fit for a record or an event (secrets and credential-looking values removed). */
  scrub(r: ServiceRecord, text: string): Promise<string>;
  /** Writes the step's view now (it stays the step's view); false when the record changed meanwhile. */
  commit(r: ServiceRecord): Promise<boolean>;
}

export class BackupSteps {
  constructor(private readonly c: BackupContext) {}

  /** Returns true while a backup is in flight (the step polls again soon). */
  async step(r: ServiceRecord, client: BackendClient): Promise<boolean> {
    const b = r.backups;
    const now = this.c.now();
    if (b.enabled && b.nextAt && Date.parse(b.nextAt) <= now && b.intervalH) {
      const interval = b.intervalH * HOUR_MS;
      let next = Date.parse(b.nextAt);
      // One backup for however many intervals were missed (say, while paused or down).
      while (next <= now) next += interval;
      r.backupEntries.push({
        id: randomUUID(),
        scheduledAt: b.nextAt,
        queuedAt: new Date(now).toISOString(),
        reason: "scheduled",
      });
      b.nextAt = new Date(next).toISOString();
    }
    await this.abandonStale(r, client, now);
    let inFlight = false;
    for (const entry of r.backupEntries) {
      if (entry.confirmedAt) continue;
      inFlight = (await this.advance(r, client, entry)) || inFlight;
    }
    if (b.enabled && b.deleteRetentionDays) {
      const cutoff = now - b.deleteRetentionDays * DAY_MS;
      for (const entry of [...r.backupEntries]) {
        if (!entry.confirmedAt || Date.parse(entry.confirmedAt) > cutoff) continue;
        await this.deleteObject(r, client, entry);
        r.backupEntries = r.backupEntries.filter((e) => e.id !== entry.id);
        this.c.event(
          r,
          "BackupExpired",
          `backup ${entry.id} is older than ${b.deleteRetentionDays} days and was deleted`,
          "info",
          { backupId: entry.id },
        );
      }
    }
    return inFlight;
  }

  /** The final backup before a delete: schedules it once, then advances it. True while in flight. */
  async final(r: ServiceRecord, client: BackendClient): Promise<boolean> {
    let final = r.backupEntries.find((e) => e.reason === "final");
    if (!final) {
      const at = new Date(this.c.now()).toISOString();
      final = { id: randomUUID(), scheduledAt: at, queuedAt: at, reason: "final" };
      r.backupEntries.push(final);
      this.c.event(
        r,
        "FinalBackupScheduled",
        `final backup ${final.id} scheduled before the backend delete`,
        "info",
        { backupId: final.id },
      );
    }
    if (final.confirmedAt) return false;
    try {
      return await this.advance(r, client, final);
    } catch (error) {
      if (error instanceof StepSuperseded) throw error;
      // Said once per run of failures: by now it is no passing hiccup, and only the user can mend it.
      if (final.failures === MAX_FAILURES) {
        this.c.event(
          r,
          "FinalBackupFailed",
          `final backup ${final.id} failed ${final.failures} times (last: ${final.lastError ?? "unknown"}); ` +
            "the service is not deleted until its final backup is stored: correct backups.config or " +
            "backups.secrets with PATCH, or set backups.enabled to false to delete it without a final backup",
          "error",
          { backupId: final.id },
        );
      }
      throw new BackendError(
        error instanceof BackendError ? error.status : 502,
        `${(error as Error).message}; the service is not deleted until its final backup is stored`,
      );
    }
  }

  /** Moves one backup forward: start it, then confirm it. Returns true while it is in flight. */
  private async advance(r: ServiceRecord, client: BackendClient, entry: BackupRecord): Promise<boolean> {
    entry.storeConfig ??= r.backups.config ?? {};
    const body = await this.body(r, entry);
    const now = new Date(this.c.now()).toISOString();
    if (!entry.initiatedAt) {
      // The entry is durable before the backend makes an object for it.
      if (!(await this.c.commit(r))) throw new StepSuperseded(`service ${r.id} changed during the step`);
      try {
        await client.startBackup(entry.id, body);
      } catch (error) {
        // A backend that refuses the backup counts against it; one that cannot be reached does not.
        if (error instanceof BackendError && !error.unreachable)
          await this.failedOnce(r, entry, error.message);
        throw error;
      }
      entry.initiatedAt = now;
      this.c.event(r, "BackupStarted", `${entry.reason} backup ${entry.id} started`, "info", {
        backupId: entry.id,
      });
      return true;
    }
    const status = await client.backupStatus(entry.id, body);
    if (status.exists) {
      entry.confirmedAt = now;
      delete entry.lastError;
      this.c.event(r, "BackupConfirmed", `${entry.reason} backup ${entry.id} is stored`, "info", {
        backupId: entry.id,
      });
      return false;
    }
    if (status.error) {
      // Start it again on the next attempt, after the step's backoff.
      delete entry.initiatedAt;
      await this.failedOnce(r, entry, status.error);
      throw new BackendError(502, `${entry.reason} backup ${entry.id} failed: ${status.error}`);
    }
    return true;
  }

  private async failedOnce(r: ServiceRecord, entry: BackupRecord, error: string): Promise<void> {
    entry.failures = (entry.failures ?? 0) + 1;
    entry.lastError = await this.c.scrub(r, error);
  }

  /** Drops unconfirmed backups that failed too often, waited too long, or exceed the cap. */
  private async abandonStale(r: ServiceRecord, client: BackendClient, now: number): Promise<void> {
    const waiting = r.backupEntries.filter((e) => !e.confirmedAt && e.reason !== "final");
    // Requested backups (and those of older releases) start their age when first seen here.
    for (const e of waiting) e.queuedAt ??= new Date(now).toISOString();
    const age = (e: BackupRecord) => Date.parse(e.queuedAt!);
    waiting.sort((a, b) => age(a) - age(b) || Date.parse(a.scheduledAt) - Date.parse(b.scheduledAt));
    for (const [i, entry] of waiting.entries()) {
      const why =
        (entry.failures ?? 0) >= MAX_FAILURES
          ? `it failed ${entry.failures} times (last: ${entry.lastError ?? "unknown"})`
          : now - Date.parse(entry.queuedAt!) > UNCONFIRMED_MAX_AGE_MS
            ? `it was not stored within ${UNCONFIRMED_MAX_AGE_MS / DAY_MS} days`
            : waiting.length - i > MAX_UNCONFIRMED
              ? `more than ${MAX_UNCONFIRMED} backups are waiting; the oldest are given up`
              : undefined;
      if (!why) continue;
      // Only a backup the backend was asked for can have left an object behind.
      if (entry.initiatedAt || (entry.failures ?? 0) > 0) await this.deleteObject(r, client, entry);
      r.backupEntries = r.backupEntries.filter((e) => e.id !== entry.id);
      this.c.event(r, "BackupAbandoned", `${entry.reason} backup ${entry.id} was given up: ${why}`, "warn", {
        backupId: entry.id,
      });
    }
  }

  private async deleteObject(r: ServiceRecord, client: BackendClient, entry: BackupRecord): Promise<void> {
    await client.deleteBackup(entry.id, await this.body(r, entry)).catch((error: unknown) => {
      // 404: nothing there; 400: settings the backend cannot even read, so nothing was written with them.
      if (!(error instanceof BackendError && (error.status === 404 || error.status === 400))) throw error;
    });
  }

  private async body(r: ServiceRecord, entry: BackupRecord) {
    return {
      msId: r.id,
      teamId: r.teamId,
      config: entry.storeConfig ?? r.backups.config ?? {},
      secrets: await this.c.secrets(r.id, "backups"),
      ...(r.backups.deleteRetentionDays ? { retentionDays: r.backups.deleteRetentionDays } : {}),
    };
  }

  /** The next clock time this service has backup work: a scheduled backup, an expiry or an abandonment. */
  nextDeadline(r: ServiceRecord): number | null {
    const b = r.backups;
    const times: number[] = [];
    if (b.enabled && b.nextAt) times.push(Date.parse(b.nextAt));
    for (const e of r.backupEntries) {
      if (e.confirmedAt) {
        if (b.enabled && b.deleteRetentionDays)
          times.push(Date.parse(e.confirmedAt) + b.deleteRetentionDays * DAY_MS + 1);
      } else if (e.reason !== "final") {
        times.push(Date.parse(e.queuedAt ?? e.scheduledAt) + UNCONFIRMED_MAX_AGE_MS + 1);
      }
    }
    return times.length > 0 ? Math.min(...times) : null;
  }
}

const PROGRESS = ["initiatedAt", "confirmedAt", "storeConfig", "failures", "lastError"] as const;

/**
 * A step lost the race with a newer write of the record: carry what it did
 * with the backend over to the newer record. Entries the step dropped (expired
 * or abandoned, their objects deleted) are dropped; entries both know get the
 * step's progress. Entries only the newer record has (a backup requested
 * meanwhile) stay as they are. Returns the merged record, or undefined when
 * there is nothing to carry over.
 */
export function mergeBackupProgress(
  newer: ServiceRecord,
  step: ServiceRecord,
  idsAtStepStart: ReadonlySet<string>,
): ServiceRecord | undefined {
  const mine = new Map(step.backupEntries.map((e) => [e.id, e]));
  const merged = structuredClone(newer);
  let changed = false;
  merged.backupEntries = merged.backupEntries.filter((e) => {
    const keep = mine.has(e.id) || !idsAtStepStart.has(e.id);
    changed ||= !keep;
    return keep;
  });
  for (const entry of merged.backupEntries) {
    const m = mine.get(entry.id);
    if (!m) continue;
    for (const field of PROGRESS) {
      if (JSON.stringify(entry[field]) === JSON.stringify(m[field])) continue;
      changed = true;
      if (m[field] === undefined) delete entry[field];
      else (entry as unknown as Record<string, unknown>)[field] = structuredClone(m[field]);
    }
  }
  return changed ? merged : undefined;
}
