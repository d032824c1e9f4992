/**
 * The embedded store's connection: one better-sqlite3 connection (WAL,
 * synchronous=NORMAL), its statements prepared once and kept.
 *
 * better-sqlite3 is synchronous, but a transaction's `fn` is not: it awaits,
 * and other requests run meanwhile on the same connection. So transactions
 * are serialized by an async mutex (BEGIN IMMEDIATE ... COMMIT), and a
 * statement from outside the open transaction waits for it to end instead of
 * landing in it (a write) or seeing its uncommitted rows (a read). With no
 * transaction open, a statement runs at once, without a promise hop beyond
 * the one the interface needs.
 */
import type Database from "better-sqlite3";
import { type Db, doomedError } from "./db";
import { SQLITE } from "./dialect";
import { type ScopedTx, TxScope } from "./tx-scope";

type Tx = ScopedTx;

export class SqliteDb extends TxScope<Tx> implements Db {
  readonly dialect = SQLITE;
  private readonly statements = new Map<string, Database.Statement>();
  /** Resolves when the transaction holding the connection (if any) and all queued before it are done. */
  private tail: Promise<void> = Promise.resolve();
  private held = false;

  constructor(readonly db: Database.Database) {
    super();
  }

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Whether this call must wait: a transaction holds the connection and the caller is not in it. */
  private mustWait(): boolean {
    return this.held && this.current() === undefined;
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    if (this.mustWait()) return this.exclusive(() => this.stmt(sql).all(...params) as T[]);
    return this.stmt(sql).all(...params) as T[];
  }
  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    if (this.mustWait()) return this.exclusive(() => this.stmt(sql).get(...params) as T | undefined);
    return this.stmt(sql).get(...params) as T | undefined;
  }
  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    if (this.mustWait()) return this.exclusive(() => this.stmt(sql).run(...params).changes);
    return this.stmt(sql).run(...params).changes;
  }
  async exec(sql: string): Promise<void> {
    if (this.mustWait()) return this.exclusive(() => void this.db.exec(sql));
    this.db.exec(sql);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.current();
    if (outer) return this.joined(outer, fn);
    const release = await this.acquire();
    const tx: Tx = { afterCommit: [] };
    try {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await this.scope.run(tx, fn);
        if (tx.doomed !== undefined) throw doomedError(tx.doomed);
        this.db.exec("COMMIT");
        tx.done = true;
        release();
        this.committed(tx);
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    } finally {
      if (!tx.done) {
        tx.done = true;
        release();
      }
    }
  }

  /** Runs `fn` while holding the connection (no transaction of its own). */
  private async exclusive<T>(fn: () => T): Promise<T> {
    const release = await this.acquire();
    try {
      return fn();
    } finally {
      release();
    }
  }

  private async acquire(): Promise<() => void> {
    const before = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await before;
    this.held = true;
    return () => {
      this.held = false;
      release();
    };
  }

  async close(): Promise<void> {
    await this.tail;
    this.db.close();
  }
}
