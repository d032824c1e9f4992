/**
 * When a replica next looks for due work on its own (the catch-up of
 * leases-pg.ts): the work nobody was told about, a dead replica's or work
 * handed back for later.
 *
 * Every `baseMs` while catch-ups find work; after each empty one the wait
 * doubles, up to `idleMs`. An idle replica thus asks the database every few
 * seconds instead of every second (with 10,000 synchronized services and two
 * replicas, two catch-ups a second were most of the database's idle CPU).
 * What costs: a dead replica's work is taken over up to `idleMs - baseMs`
 * later. Work that shows up (a notification) brings the cadence back to
 * `baseMs`, and a time asked for with `at` (work handed back, due then) gets
 * a catch-up at that time, however long the idle wait.
 */

/** Times asked for with `at` kept at most; beyond that the idle cadence finds the work, up to `idleMs` late. */
const MAX_WANTED = 1_000;

export interface CatchUpPlanOptions {
  baseMs: number;
  idleMs: number;
  /** One catch-up; resolves to whether it found work. Errors are the caller's to report: it must not reject. */
  run: () => Promise<boolean>;
}

export class CatchUpPlan {
  private readonly idleMs: number;
  private wait: number;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (Date.now() ms); Infinity when none is set. */
  private timerAt = Number.POSITIVE_INFINITY;
  /** Times a catch-up was asked for, ascending (Date.now() ms). */
  private wanted: number[] = [];
  private running = false;
  private stopped = true;

  constructor(private readonly o: CatchUpPlanOptions) {
    this.idleMs = Math.max(o.idleMs, o.baseMs);
    this.wait = o.baseMs;
  }

  /** Runs a catch-up now, then keeps planning them until `stop`. */
  async start(): Promise<void> {
    this.stopped = false;
    this.wait = this.o.baseMs;
    await this.runNow();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.wanted = [];
  }

  /** Work showed up: the next catch-up within `baseMs`, and the cadence back to `baseMs`. */
  soon(): void {
    this.wait = this.o.baseMs;
    this.bringForward(Date.now() + this.o.baseMs);
  }

  /** A catch-up `delayMs` from now (work handed back, due then), even if the idle wait is longer. */
  at(delayMs: number): void {
    const when = Date.now() + Math.max(delayMs, 0);
    if (this.wanted.length >= MAX_WANTED && when >= this.wanted[this.wanted.length - 1]!) return;
    let i = this.wanted.length;
    while (i > 0 && this.wanted[i - 1]! > when) i--;
    this.wanted.splice(i, 0, when);
    if (this.wanted.length > MAX_WANTED) this.wanted.pop();
    this.bringForward(when);
  }

  private bringForward(when: number): void {
    // A running catch-up plans the next one when it ends, wanted times included.
    if (!this.stopped && !this.running && when < this.timerAt) this.setTimer(when);
  }

  private async runNow(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const now = Date.now();
    // This catch-up serves every time asked for up to now.
    while (this.wanted.length > 0 && this.wanted[0]! <= now) this.wanted.shift();
    let found = false;
    try {
      found = await this.o.run();
    } finally {
      this.running = false;
      const wait = found ? this.o.baseMs : this.wait;
      this.wait = found ? this.o.baseMs : Math.min(this.wait * 2, this.idleMs);
      if (!this.stopped)
        this.setTimer(Math.min(Date.now() + wait, this.wanted[0] ?? Number.POSITIVE_INFINITY));
    }
  }

  private setTimer(when: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = when;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        void this.runNow();
      },
      Math.min(Math.max(when - Date.now(), 0), 2 ** 31 - 1),
    );
    this.timer.unref();
  }
}
