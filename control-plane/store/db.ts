/**
 * The SQL connection under the store: one small asynchronous interface with
 * two implementations, embedded SQLite (./sqlite-db.ts) and PostgreSQL
 * (./postgres-db.ts). Everything above it (the store, the event log,
 * idempotency keys, migrations) is written once against this interface, in
 * SQL both dialects accept, with `?` placeholders (turned into `$1..$n` for
 * PostgreSQL).
 *
 * Transactions are scoped by the async call chain (AsyncLocalStorage): a
 * statement issued anywhere inside `transaction(fn)`'s `fn`, however deep the
 * awaits, runs in that transaction, and a nested `transaction` joins the
 * outer one. If a nested call throws, the whole transaction rolls back even
 * when the outer `fn` catches the error: half of a joined transaction never
 * commits.
 */
import type { Dialect } from "./dialect";

export interface Db {
  readonly dialect: Dialect;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a write; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs DDL (no parameters, possibly several statements in SQLite). */
  exec(sql: string): Promise<void>;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether the caller runs inside a transaction. */
  inTransaction(): boolean;
  /**
   * Runs `fn` outside any transaction the caller is in: for work that merely
   * starts there and lives on (a reconcile step woken by a request).
   */
  outside<T>(fn: () => T): T;
  /**
   * Runs `fn` once the caller's transaction has committed (never, if it rolls
   * back), or at once outside one: for telling others about a write (waking
   * the reconciler), who must find it committed when they look.
   */
  afterCommit(fn: () => void): void;
  close(): Promise<void>;
}

/** Thrown by `transaction` when a nested call failed and the outer one tried to commit anyway. */
export function doomedError(cause: unknown): Error {
  return new Error(
    `rolled back: a nested transaction failed (${cause instanceof Error ? cause.message : String(cause)})`,
  );
}
