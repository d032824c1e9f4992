/**
 * The PostgreSQL store's connection: a `pg` pool. A transaction is one pooled
 * client between BEGIN and COMMIT (or ROLLBACK); statements outside one go to
 * any pooled client. Nothing is cached across requests, so every replica on
 * the database reads what any of them committed.
 */
import pg from "pg";
import { type Db, doomedError } from "./db";
import { POSTGRES } from "./dialect";
import { type ScopedTx, TxScope } from "./tx-scope";

interface Tx extends ScopedTx {
  client: pg.PoolClient;
}

/** BIGINT (int8) and COUNT(*) as numbers: the store's integers (epoch ms, sequence numbers) fit in 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Statements worth preparing once per connection: reads and row writes, not schema changes. */
const NAMEABLE = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i;
const MAX_NAMED = 500;

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(a database URL that does not parse)";
  }
}

export class PostgresDb extends TxScope<Tx> implements Db {
  readonly dialect = POSTGRES;
  readonly pool: pg.Pool;
  private readonly statements = new Map<string, pg.QueryConfig>();

  constructor(url: string, options: { max?: number; onError?: (err: Error) => void } = {}) {
    super();
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle client losing its connection must not take the process down; the next query reconnects.
    this.pool.on("error", (err) => options.onError?.(err));
  }

  /**
   * The statement for `sql`: `?` placeholders as `$1..$n` (the store's SQL has
   * no `?` inside literals), and a name for queries and row writes, so each
   * pooled connection parses and plans it once and then only binds and runs
   * it (a GET is one such statement). Schema statements stay unnamed.
   */
  private statement(sql: string, params: readonly unknown[]): pg.QueryConfig {
    let s = this.statements.get(sql);
    if (s === undefined) {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      // Bounded, so a statement text built at run time could never pile up prepared statements.
      s =
        NAMEABLE.test(sql) && this.statements.size < MAX_NAMED
          ? { name: `landform_${this.statements.size}`, text }
          : { text };
      this.statements.set(sql, s);
    }
    return { ...s, values: params as unknown[] };
  }

  private runner(): pg.Pool | pg.PoolClient {
    return this.current()?.client ?? this.pool;
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const r = await this.runner().query(this.statement(sql, params));
    return r.rows as T[];
  }
  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }
  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    const r = await this.runner().query(this.statement(sql, params));
    return r.rowCount ?? 0;
  }
  async exec(sql: string): Promise<void> {
    await this.runner().query(sql);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.current();
    if (outer) return this.joined(outer, fn);
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const tx: Tx = { client, afterCommit: [] };
    try {
      await client.query("BEGIN");
      try {
        const result = await this.within(tx, fn);
        if (tx.doomed !== undefined) throw doomedError(tx.doomed);
        await client.query("COMMIT");
        tx.done = true;
        client.release();
        this.committed(tx);
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch((e: Error) => {
          broken = e; // the connection is gone: do not give it back to the pool
        });
        throw error;
      }
    } finally {
      if (!tx.done) {
        tx.done = true;
        client.release(broken);
      }
    }
  }

  /** Runs `fn` holding a session-level advisory lock (on a client of its own) so replicas take turns. */
  async withAdvisoryLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("SELECT pg_advisory_lock($1)", [key]);
      try {
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [key]);
      }
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
