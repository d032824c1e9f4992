/**
 * What both databases share about transactions: the open one follows the
 * async call chain (AsyncLocalStorage), a nested call joins it, a failure
 * anywhere inside dooms it, and work queued with `afterCommit` runs only once
 * it committed, outside it.
 */
import { AsyncLocalStorage } from "node:async_hooks";

export interface ScopedTx {
  doomed?: unknown;
  /** Set at COMMIT or ROLLBACK: work started inside (and still running) no longer belongs to it. */
  done?: boolean;
  /** Run once the transaction committed (dropped on rollback). */
  afterCommit: (() => void)[];
}

export abstract class TxScope<Tx extends ScopedTx> {
  protected readonly scope = new AsyncLocalStorage<Tx>();
  private open = 0;

  /**
   * Runs `fn` as the body of `tx`. While no transaction is open the scope is
   * disabled: an enabled AsyncLocalStorage makes every promise and every
   * native handle (a socket write, say) call its hooks, a cost each read
   * (a GET) paid for nothing. Work a transaction started and that outlives
   * it sees no transaction either way (`current` ignores a done one).
   */
  protected async within<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
    this.open += 1;
    try {
      return await this.scope.run(tx, fn);
    } finally {
      this.open -= 1;
      if (this.open === 0) this.scope.disable();
    }
  }

  /**
   * The transaction the caller runs in. Async work started inside one (a
   * timer, a queued job) inherits its context; once it has ended, that work
   * runs on its own like any other caller.
   */
  protected current(): Tx | undefined {
    const tx = this.scope.getStore();
    return tx && !tx.done ? tx : undefined;
  }

  outside<T>(fn: () => T): T {
    return this.scope.exit(fn);
  }

  afterCommit(fn: () => void): void {
    const tx = this.current();
    if (tx) tx.afterCommit.push(fn);
    else fn();
  }

  /** The transaction committed: what waited for it runs now, outside it. */
  protected committed(tx: Tx): void {
    for (const fn of tx.afterCommit.splice(0)) this.scope.exit(fn);
  }

  inTransaction(): boolean {
    return this.current() !== undefined;
  }

  /** Runs `fn` inside the caller's open transaction; a failure dooms the whole of it. */
  protected async joined<T>(outer: Tx, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      outer.doomed ??= error;
      throw error;
    }
  }
}
