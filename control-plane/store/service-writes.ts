/**
 * Writes of a service record, alone or with what belongs to it: the events
 * that describe the change and the sealed secrets it brings (a create's).
 *
 * Each write is a compare-and-set on the record's revision (a new record has
 * none: an INSERT, refused by the live-name index when the name is taken).
 * On PostgreSQL the record, its events and its secrets go as ONE statement
 * (data-modifying CTEs; events and secrets only when the record's write took
 * effect; the log's trim too when one is due): one round trip, atomic on its
 * own, so no BEGIN/COMMIT and no pooled client held across awaits. On SQLite, where a statement costs no
 * round trip, they run as separate statements in one transaction.
 */
import type * as schemas from "../../sdk/schemas";
import { viewOf } from "../domain/view";
import type { Db } from "./db";
import type { EventLog } from "./event-log";
import type { SecretKind, ServiceRecord } from "./records";
import { isUniqueViolation, SQL } from "./store-sql";
import { watchColumn } from "./watch";

/** A write of a service record that was changed (or removed) since the writer read it. */
export class StaleRecordError extends Error {}
/** A new service whose team already has a live service of that name. */
export class NameTakenError extends Error {}

export interface SealedSecret {
  kind: SecretKind;
  sealed: string;
}

const COLUMNS = "team_id, name, deleted_at, state, next_attempt_at, record, rev, view, watch";
/** The events and secrets that ride along, from arrays bound as $12..$15; `w` is the record's write. */
const RIDERS = `
  e AS (INSERT INTO events (service_id, record, at)
        SELECT w.id, x.record, x.at FROM w, unnest($12::text[], $13::bigint[]) WITH ORDINALITY AS x(record, at, n)
        ORDER BY x.n),
  k AS (INSERT INTO secrets (owner, kind, sealed)
        SELECT w.id, y.kind, y.sealed FROM w, unnest($14::text[], $15::text[]) AS y(kind, sealed)
        ON CONFLICT (owner, kind) DO UPDATE SET sealed = excluded.sealed)
  SELECT count(*) AS n FROM w`;
/** The service's log cut to the retention (event-log.ts), in the same statement when it is due: $16 oldest time, $17 events kept. */
const TRIM = `
  t AS (DELETE FROM events WHERE service_id = $1 AND (at < $16 OR seq <= (
        SELECT seq FROM events WHERE service_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $17))),`;
const PG = {
  // $11 is unused by the insert; it is bound anyway so both statements take the same parameters.
  insert: `WITH w AS (INSERT INTO services (id, ${COLUMNS})
    SELECT $1::text, $2::integer, $3::text, $4::text, $5::text, $6::bigint, $7::text, $8::bigint, $9::text, $10::text
    WHERE $11::bigint IS NULL RETURNING id),`,
  update: `WITH w AS (UPDATE services SET team_id = $2, name = $3, deleted_at = $4, state = $5,
    next_attempt_at = $6, record = $7, rev = $8, view = $9, watch = $10 WHERE id = $1 AND rev = $11 RETURNING id),`,
};

export class ServiceWrites {
  constructor(
    private readonly db: Db,
    private readonly eventLog: EventLog,
  ) {}

  /**
   * Writes the record with `events` appended to its log and `secrets` stored,
   * all or nothing (see store.ts `putService` for the revision rules).
   */
  async write(
    record: ServiceRecord,
    events: readonly schemas.LogRecord[] = [],
    secrets: readonly SealedSecret[] = [],
  ): Promise<void> {
    if (this.db.dialect.name === "sqlite") {
      await this.db.transaction(async () => {
        for (const e of events) await this.eventLog.add(record.id, e);
        await this.put(record);
        for (const s of secrets) await this.db.run(SQL.putSecret, [record.id, s.kind, s.sealed]);
      });
      return;
    }
    const expected = record.rev;
    const rev = (expected ?? 0) + 1;
    const times = events.map((e) => Date.parse(e.timestamp) || 0);
    const newest = times.at(-1);
    const trim = newest !== undefined && this.eventLog.written(record.id, events.length);
    const sql = `${expected === undefined ? PG.insert : PG.update}${trim ? TRIM : ""}${RIDERS}`;
    const row = await this.refusals(record, () =>
      this.db.get<{ n: number }>(sql, [
        record.id,
        ...this.columns(record, rev),
        expected ?? null,
        events.map((e) => JSON.stringify(e)),
        times,
        secrets.map((s) => s.kind),
        secrets.map((s) => s.sealed),
        ...(trim ? this.eventLog.trimBounds(newest) : []),
      ]),
    );
    if (Number(row?.n ?? 0) === 0)
      throw new StaleRecordError(`service ${record.id} changed since revision ${expected}`);
    record.rev = rev;
  }

  /** Writes the record alone. */
  async put(record: ServiceRecord): Promise<void> {
    const expected = record.rev;
    const rev = (expected ?? 0) + 1;
    const columns = this.columns(record, rev);
    const changed = await this.refusals(record, () =>
      expected === undefined
        ? this.db.run(SQL.insertService, [record.id, ...columns])
        : this.db.run(SQL.updateService, [...columns, record.id, expected]),
    );
    if (changed === 0) throw new StaleRecordError(`service ${record.id} changed since revision ${expected}`);
    record.rev = rev;
  }

  /** The row's columns in COLUMNS order, for the record at revision `rev`. */
  private columns(record: ServiceRecord, rev: number): unknown[] {
    const stored = { ...record, rev };
    return [
      record.teamId,
      record.name,
      record.deletedAt ?? null,
      record.state,
      record.nextAttemptAt,
      JSON.stringify(stored),
      rev,
      JSON.stringify(viewOf(stored)),
      watchColumn(stored),
    ];
  }

  /** Runs the write; the live-name index refusing it is a NameTakenError. */
  private async refusals<T>(record: ServiceRecord, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new NameTakenError(`team ${record.teamId} already has a live service named "${record.name}"`, {
        cause: error,
      });
    }
  }
}
