/**
 * Idempotency keys: for each (caller scope, key), the first answer a write
 * got, kept for 24 hours so a retried request gets the same answer instead of
 * doing the write again (see control-plane/api/idempotency.ts for the HTTP
 * rules, docs/decisions/ for why).
 *
 * `record` is meant to run inside the same `Store.transaction` as the write it
 * answers, so after a crash there is either both the write and its key or
 * neither. Nothing secret is kept: the scope and the fingerprint are keyed
 * hashes (HMAC) made by the API layer, and the body is the answer the client
 * already got, which never holds secrets.
 *
 * Growth is bounded by the writes of one day: `record` sweeps expired keys at
 * most once a minute, deleting through the index on `expires_at`, so a sweep
 * only touches the rows it removes.
 */
import type { Db } from "./db";

export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
const SWEEP_EVERY_MS = 60_000;

/** The answer recorded for a key, and what request it answered. */
export interface RecordedAnswer {
  /** Keyed hash of method, path and canonical body. */
  fingerprint: string;
  status: number;
  /** Empty for an empty answer. */
  contentType: string;
  body: string;
}

export interface StoredAnswer extends RecordedAnswer {
  createdAt: number;
  expiresAt: number;
}

interface Row {
  fingerprint: string;
  status: number;
  content_type: string;
  body: string;
  created_at: number;
  expires_at: number;
}

const SQL = {
  find: `SELECT fingerprint, status, content_type, body, created_at, expires_at
         FROM idempotency_keys WHERE scope = ? AND idem_key = ?`,
  // An expired row that was not swept yet is replaced: the key is free again.
  put: `INSERT INTO idempotency_keys (scope, idem_key, fingerprint, status, content_type, body, created_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (scope, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
          content_type = excluded.content_type, body = excluded.body, created_at = excluded.created_at,
          expires_at = excluded.expires_at`,
  sweep: "DELETE FROM idempotency_keys WHERE expires_at <= ?",
  count: "SELECT COUNT(*) AS n FROM idempotency_keys",
};

export class IdempotencyKeys {
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly db: Db,
    readonly ttlMs = IDEMPOTENCY_TTL_MS,
  ) {}

  /** The answer recorded for `key` in `scope`, unless there is none or it has expired by `now`. */
  async find(scope: string, key: string, now: number): Promise<StoredAnswer | undefined> {
    const row = await this.db.get<Row>(SQL.find, [scope, key]);
    if (!row || row.expires_at <= now) return undefined;
    return {
      fingerprint: row.fingerprint,
      status: row.status,
      contentType: row.content_type,
      body: row.body,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  /** Records the answer to `key` in `scope`; run it in the transaction of the write it answers. */
  async record(scope: string, key: string, answer: RecordedAnswer, now: number): Promise<void> {
    if (now - this.lastSweep >= SWEEP_EVERY_MS) await this.sweep(now);
    await this.db.run(SQL.put, [
      scope,
      key,
      answer.fingerprint,
      answer.status,
      answer.contentType,
      answer.body,
      now,
      now + this.ttlMs,
    ]);
  }

  /** Deletes the keys expired by `now`; returns how many. */
  sweep(now: number): Promise<number> {
    this.lastSweep = now;
    return this.db.run(SQL.sweep, [now]);
  }

  /** How many keys are kept (expired ones not yet swept included). */
  async size(): Promise<number> {
    return (await this.db.get<{ n: number }>(SQL.count))?.n ?? 0;
  }
}
