import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CatchUpPlan } from "./catch-up-plan";

describe("catch-up plan", () => {
  let runs: number[];
  let finds: boolean[];
  let plan: CatchUpPlan;
  const start = Date.now();

  beforeEach(() => {
    vi.useFakeTimers({ now: start });
    runs = [];
    finds = [];
    plan = new CatchUpPlan({
      baseMs: 1_000,
      idleMs: 5_000,
      run: async () => {
        runs.push(Date.now() - start);
        return finds.shift() ?? false;
      },
    });
  });
  afterEach(() => {
    plan.stop();
    vi.useRealTimers();
  });

  it("runs at once, then waits twice as long after each empty catch-up, up to the idle wait", async () => {
    await plan.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(runs).toEqual([0, 1_000, 3_000, 7_000, 12_000, 17_000, 22_000, 27_000]);
  });

  it("keeps the base cadence while catch-ups find work, and backs off again after", async () => {
    finds = [true, true, true];
    await plan.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toEqual([0, 1_000, 2_000, 3_000, 4_000, 6_000, 10_000]);
  });

  it("comes back within the base interval when work shows up during an idle wait", async () => {
    await plan.start();
    await vi.advanceTimersByTimeAsync(13_000); // runs at 0, 1, 3, 7, 12 s; the next one would be at 17 s
    plan.soon();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(runs).toEqual([0, 1_000, 3_000, 7_000, 12_000, 14_000, 15_000]);
  });

  it("runs at each time asked for, however long the idle wait, and only once for times already served", async () => {
    await plan.start();
    await vi.advanceTimersByTimeAsync(12_500); // idle now: runs at 0, 1, 3, 7, 12 s
    runs = [];
    plan.at(2_000); // 14.5 s
    plan.at(2_000); // the same time again: one run
    plan.at(30_000); // 42.5 s, between idle runs
    plan.at(-5); // overdue: at once
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([12_500]);
    await vi.advanceTimersByTimeAsync(31_000);
    expect(runs).toContain(14_500);
    expect(runs).toContain(42_500);
    expect(runs.filter((t) => t === 14_500)).toHaveLength(1);
    // Between them the cadence backs off again: no more than one run per second.
    for (let i = 1; i < runs.length; i++) expect(runs[i]! - runs[i - 1]!).toBeGreaterThanOrEqual(1_000);
  });

  it("never runs two catch-ups at once, and none after stop", async () => {
    let out = 0;
    let most = 0;
    const slow = new CatchUpPlan({
      baseMs: 100,
      idleMs: 100,
      run: async () => {
        most = Math.max(most, ++out);
        await new Promise((r) => setTimeout(r, 250));
        out--;
        runs.push(Date.now() - start);
        return true;
      },
    });
    const started = slow.start();
    slow.soon();
    slow.at(0);
    await vi.advanceTimersByTimeAsync(250);
    await started;
    slow.at(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(most).toBe(1);
    slow.stop();
    const before = runs.length;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs.length).toBeLessThanOrEqual(before + 1); // at most the one already running when stopped
  });
});
