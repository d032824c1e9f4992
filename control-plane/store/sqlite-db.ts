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
 *
 * Group commit: BEGIN and COMMIT cost more than a create's few row writes
 * (the COMMIT writes the WAL frames of every page it touched). So the
 * transactions that end within one turn of the event loop, and those that
 * queued for the connection meanwhile, share one physical transaction, each
 * in a SAVEPOINT of its own (a failing one rolls back only itself), and one
 * COMMIT at the end of the turn. None of them returns, and nothing queued
 * with `afterCommit` runs, before that COMMIT; if it fails, all of them fail.
 * A statement from outside waits for the COMMIT like it waits for a transaction.
 */
import type Database from "better-sqlite3";
import { type Db, doomedError } from "./db";
import { SQLITE } from "./dialect";
import { preparedStatements } from "./sqlite-open";
import { type ScopedTx, TxScope } from "./tx-scope";

type Tx = ScopedTx;

/** Transactions in one COMMIT at most: a steady stream of them still gets answered. */
const MAX_GROUP = 64;

export class SqliteDb extends TxScope<Tx> implements Db {
  readonly dialect = SQLITE;
  private readonly stmt: (sql: string) => Database.Statement;
  /** Whether the connection is taken: by a transaction, a waiting group, or a statement from outside. */
  private busy = false;
  /** Who waits for the connection; `tx`: a transaction, which may join the open group. */
  private readonly waiting: { tx: boolean; go: () => void }[] = [];
  /** The open physical transaction: its finished members wait for its COMMIT. */
  private group:
    | { members: { resolve(): void; reject(error: unknown): void }[]; commitQueued: boolean }
    | undefined;

  constructor(readonly db: Database.Database) {
    super();
    this.stmt = preparedStatements(db);
  }

  /** Whether this call must wait: the connection is taken and the caller is not in its transaction. */
  private mustWait(): boolean {
    return this.busy && this.current() === undefined;
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
    await this.acquire(true);
    const tx: Tx = { afterCommit: [] };
    let result: T;
    try {
      if (!this.group) {
        this.db.exec("BEGIN IMMEDIATE");
        this.group = { members: [], commitQueued: false };
      }
      this.db.exec("SAVEPOINT landform_tx");
      try {
        result = await this.within(tx, fn);
        if (tx.doomed !== undefined) throw doomedError(tx.doomed);
        this.db.exec("RELEASE landform_tx");
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK TO landform_tx; RELEASE landform_tx");
        else this.lost(error); // SQLite rolled the whole transaction back (a full disk, say): the group too
        throw error;
      }
    } catch (error) {
      tx.done = true;
      this.handOff();
      throw error;
    }
    tx.done = true;
    const group = this.group;
    const committed = new Promise<void>((resolve, reject) => group.members.push({ resolve, reject }));
    this.handOff();
    await committed;
    this.committed(tx);
    return result;
  }

  /** Runs `fn` while holding the connection (no transaction of its own). */
  private async exclusive<T>(fn: () => T): Promise<T> {
    await this.acquire(false);
    try {
      return fn();
    } finally {
      this.handOff();
    }
  }

  private async acquire(tx: boolean): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return;
    }
    await new Promise<void>((go) => this.waiting.push({ tx, go }));
  }

  /**
   * The holder is done. A queued transaction joins the open group; anything
   * else first needs it committed. With nobody queued, the group commits at
   * the end of this turn, so transactions of this turn still join it.
   */
  private handOff(): void {
    const next = this.waiting[0];
    if (this.group && next && (!next.tx || this.group.members.length >= MAX_GROUP)) this.commit();
    if (next) {
      this.waiting.shift();
      next.go();
      return;
    }
    if (!this.group) {
      this.busy = false;
      return;
    }
    if (this.group.commitQueued) {
      this.commit();
      this.busy = false;
      return;
    }
    const group = this.group;
    group.commitQueued = true;
    // Held until then: a statement from outside would see the group's rows before they are committed.
    this.scope.exit(() =>
      setImmediate(() => {
        if (this.group === group) this.handOff();
      }),
    );
  }

  private commit(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    try {
      this.db.exec("COMMIT");
    } catch (error) {
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      for (const m of group.members) m.reject(error);
      return;
    }
    for (const m of group.members) m.resolve();
  }

  /** The physical transaction is gone: its finished members fail with it. */
  private lost(error: unknown): void {
    const group = this.group;
    this.group = undefined;
    for (const m of group?.members ?? []) m.reject(error);
  }

  async close(): Promise<void> {
    while (this.busy) await new Promise<void>((resolve) => setImmediate(resolve));
    this.db.close();
  }
}
