import { describe, expect, it } from "vitest";
import { WorkQueue } from "./queue";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe("the work queue", () => {
  it("runs due work earliest first and waits for work due later", async () => {
    let now = 1_000;
    const ran: string[] = [];
    const q = new WorkQueue({ now: () => now }, async (id) => {
      ran.push(id);
    });
    q.schedule("later", 1_050);
    q.schedule("first", 900);
    q.schedule("second", 1_000);
    await tick();
    expect(ran).toEqual(["first", "second"]);
    now = 1_060;
    q.tick();
    await tick();
    expect(ran).toEqual(["first", "second", "later"]);
    q.stop();
  });

  it("never runs one id twice at once, and runs it again when woken meanwhile", async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release!: () => void;
    const q = new WorkQueue({ now: () => 0 }, async () => {
      active++;
      runs++;
      maxActive = Math.max(maxActive, active);
      if (runs === 1) await new Promise<void>((r) => (release = r));
      active--;
    });
    q.schedule("a");
    await tick();
    q.schedule("a");
    q.schedule("a");
    await tick();
    expect(runs).toBe(1);
    release();
    await tick(20);
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
    q.stop();
  });

  it("keeps at most `concurrency` items running", async () => {
    let active = 0;
    let maxActive = 0;
    const q = new WorkQueue(
      { now: () => 0 },
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await tick(10);
        active--;
      },
      3,
    );
    for (let i = 0; i < 10; i++) q.schedule(`s${i}`);
    await tick(100);
    expect(maxActive).toBe(3);
    expect(active).toBe(0);
    await q.drained();
    q.stop();
  });

  it("keeps the earlier of two due times for the same id", async () => {
    let now = 0;
    const ran: number[] = [];
    const q = new WorkQueue({ now: () => now }, async () => {
      ran.push(now);
    });
    q.schedule("a", 100);
    q.schedule("a", 50);
    q.schedule("a", 200);
    now = 60;
    q.tick();
    await tick();
    expect(ran).toEqual([60]);
    q.stop();
  });

  it("forgets an unscheduled id, including a run-again asked for while it ran", async () => {
    let now = 1_000;
    const ran: string[] = [];
    let release!: () => void;
    const q = new WorkQueue({ now: () => now }, async (id) => {
      ran.push(id);
      if (id === "busy" && ran.filter((x) => x === "busy").length === 1)
        await new Promise<void>((r) => (release = r));
    });
    q.schedule("gone", 1_050);
    q.schedule("kept", 1_060);
    q.unschedule("gone");
    expect(q.dueAt("gone")).toBeUndefined();
    expect(q.dueAt("kept")).toBe(1_060);
    now = 1_100;
    q.tick();
    await tick();
    expect(ran).toEqual(["kept"]);
    q.schedule("busy");
    await tick();
    q.schedule("busy"); // while it runs: again, right after
    expect(q.dueAt("busy")).toBe(now);
    q.unschedule("busy");
    expect(q.dueAt("busy")).toBeUndefined();
    release();
    await tick(20);
    expect(ran).toEqual(["kept", "busy"]);
    q.stop();
  });
});
