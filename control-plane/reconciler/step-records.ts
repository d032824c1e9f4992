/**
 * How a reconcile step's view of a service is written: the record with the
 * step's events in one transaction, as a compare-and-set on the revision the
 * step started from, and the service's next step scheduled. A step that
 * changed nothing writes nothing (the health watch's steps, mostly).
 */
import type { PendingEvents } from "../domain/events";
import { type ServiceRecord, StaleRecordError, type Store } from "../store/store";
import { mergeBackupProgress } from "./backups";
import type { WorkQueue } from "./queue";

export class StepRecords {
  /** The backup ids a step's record had when the step began (to merge after a lost race). */
  private readonly idsAtStart = new WeakMap<ServiceRecord, ReadonlySet<string>>();
  /** The record as the step read it (JSON), to tell whether the step changed anything. */
  private readonly asRead = new WeakMap<ServiceRecord, { json: string; nextAt: number | null }>();

  constructor(
    private readonly store: Store,
    private readonly queue: () => WorkQueue,
    private readonly pendingEvents: PendingEvents,
  ) {}

  /** The step's own copy of the stored record. */
  begin(current: ServiceRecord): ServiceRecord {
    const r = structuredClone(current);
    this.pendingEvents.drop(r.id);
    this.idsAtStart.set(r, new Set(r.backupEntries.map((e) => e.id)));
    this.remember(r);
    return r;
  }

  /**
   * Persists the record with the step's events in one transaction and
   * schedules its next step (null: nothing due); `also` writes more in the
   * same transaction. Returns false when the record changed (through the API,
   * or another replica) while this step talked to the backend: then the
   * step's view is dropped (its events and backup progress are kept) and the
   * service is looked at again with the new one.
   */
  async save(r: ServiceRecord, nextAt: number | null, also?: () => Promise<void>): Promise<boolean> {
    const { store } = this;
    const events = this.pendingEvents.take(r.id);
    if (events.length === 0 && !also && this.unchanged(r, nextAt)) {
      if (nextAt !== null) this.queue().schedule(r.id, nextAt);
      return true;
    }
    r.nextAttemptAt = nextAt;
    try {
      if (also)
        await store.transaction(async () => {
          await store.writeService(r, events);
          await also();
        });
      else await store.writeService(r, events);
    } catch (error) {
      if (!(error instanceof StaleRecordError)) throw error;
      const stored = await store.service(r.id);
      if (!stored) return false; // purged meanwhile: its events go with it
      const merged = mergeBackupProgress(stored, r, this.idsAtStart.get(r) ?? new Set());
      await store
        .transaction(async () => {
          for (const e of events) await store.addEvent(r.id, e);
          if (merged) await store.putService(merged);
        })
        .catch((again: unknown) => {
          // Changed once more: the next step starts from that record and redoes what is missing.
          if (!(again instanceof StaleRecordError)) throw again;
        });
      this.queue().schedule(r.id);
      return false;
    }
    this.remember(r);
    if (nextAt !== null) this.queue().schedule(r.id, nextAt);
    return true;
  }

  /**
   * Writes the step's view now, before a backend call that must not be
   * forgotten (a backup's id). It stays the step's view. False when the record
   * changed meanwhile: the caller ends the step without the call.
   */
  async commit(r: ServiceRecord): Promise<boolean> {
    const { store } = this;
    const events = this.pendingEvents.take(r.id);
    const copy = structuredClone(r);
    try {
      await store.writeService(copy, events);
    } catch (error) {
      if (!(error instanceof StaleRecordError)) throw error;
      // Not written: the events stay with the step, for the save that follows.
      for (const e of events) this.pendingEvents.addEvent(r.id, e);
      return false;
    }
    r.rev = copy.rev;
    this.remember(r);
    return true;
  }

  private remember(r: ServiceRecord): void {
    this.asRead.set(r, { json: JSON.stringify(r), nextAt: r.nextAttemptAt });
  }

  /**
   * Nothing to write: the step changed nothing but perhaps its next time, and
   * the stored one is no later (a poll's). A restart or another replica then
   * looks a little early, which is harmless; a write per poll is not free.
   */
  private unchanged(r: ServiceRecord, nextAt: number | null): boolean {
    const read = this.asRead.get(r);
    if (!read) return false;
    const storedNextFits =
      read.nextAt === nextAt || (read.nextAt !== null && nextAt !== null && read.nextAt <= nextAt);
    return storedNextFits && JSON.stringify(r) === read.json;
  }
}
