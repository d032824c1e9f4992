/**
 * The work the reference backends do after answering (uploads, deletions and
 * recoveries against a backup store), tracked so a shutdown can let it finish
 * before the database closes.
 */
export class Tasks {
  private readonly running = new Set<Promise<void>>();

  /** `onError` hears of failures a task did not handle itself (a bug, not a store outage). */
  constructor(private readonly onError: (err: unknown) => void) {}

  /** Starts `fn` now; the returned promise settles when it has finished and never rejects. */
  run(fn: () => Promise<void>): Promise<void> {
    const p = (async () => {
      try {
        await fn();
      } catch (err) {
        this.onError(err);
      }
    })();
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return p;
  }

  /** Waits until every task has finished, or `timeoutMs` has passed. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise((r) => {
          timer = setTimeout(r, Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
    }
  }
}
