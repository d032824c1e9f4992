/**
 * Per-service work queue: each id is due at one time; the earliest due runs
 * first, at most `concurrency` at once, and a service is never worked on twice
 * at the same time (a wake while it runs makes it run again right after).
 * Cost is per due item, not per service held.
 */
export interface Clock {
  now(): number;
}

export class WorkQueue {
  private readonly due = new Map<string, number>();
  private heap: [number, string][] = [];
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly work: (id: string) => Promise<void>,
    private readonly concurrency = 64,
  ) {}

  /** Makes `id` due at `at` (default now), unless it is already due earlier. */
  schedule(id: string, at = this.clock.now()): void {
    if (this.stopped) return;
    if (this.running.has(id)) {
      if (at <= this.clock.now()) this.again.add(id);
      else this.push(id, at);
      return;
    }
    const current = this.due.get(id);
    if (current !== undefined && current <= at) return;
    this.push(id, at);
    this.pump();
  }

  /**
   * Forgets `id`'s schedule (and a pending run-again), e.g. when another
   * replica is to work it; a run in progress finishes. Heap entries go stale
   * and are dropped when they come up.
   */
  unschedule(id: string): void {
    this.due.delete(id);
    this.again.delete(id);
  }

  /** When `id` runs next: now if it runs again after the current run, undefined if not scheduled. */
  dueAt(id: string): number | undefined {
    if (this.again.has(id)) return this.clock.now();
    return this.due.get(id);
  }

  /** Re-evaluates what is due, e.g. after the clock jumped. */
  tick(): void {
    this.clearTimer();
    this.pump();
  }

  get size(): number {
    return this.due.size + this.running.size;
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  /** Resolves when nothing is running (in-flight work finished). */
  drained(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private push(id: string, at: number): void {
    this.due.set(id, at);
    this.heap.push([at, id]);
    this.siftUp(this.heap.length - 1);
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    while (this.running.size < this.concurrency && this.heap.length > 0) {
      const [at, id] = this.heap[0]!;
      if (this.due.get(id) !== at) {
        this.pop(); // stale entry: rescheduled since
        continue;
      }
      if (at > now) break;
      if (this.running.has(id)) {
        // Due while still running: run again right after.
        this.pop();
        this.due.delete(id);
        this.again.add(id);
        continue;
      }
      this.pop();
      this.due.delete(id);
      this.start(id);
    }
    this.arm();
  }

  private start(id: string): void {
    this.running.add(id);
    this.work(id)
      .catch(() => {
        // The worker records its own failures; the queue only keeps going.
      })
      .finally(() => {
        this.running.delete(id);
        if (this.again.delete(id)) this.schedule(id);
        if (this.running.size === 0) for (const w of this.idleWaiters.splice(0)) w();
        this.pump();
      });
  }

  private arm(): void {
    const next = this.heap[0];
    if (!next || this.running.size >= this.concurrency) return;
    const at = next[0];
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.min(Math.max(at - this.clock.now(), 0), 2 ** 31 - 1),
    );
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private pop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
  }
  private siftUp(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]![0] <= h[i]![0]) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  private siftDown(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && h[l]![0] < h[m]![0]) m = l;
      if (r < h.length && h[r]![0] < h[m]![0]) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i]!, h[m]!];
      i = m;
    }
  }
}
