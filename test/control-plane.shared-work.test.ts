/**
 * The reconciler's queue under leases (control-plane/reconciler/shared-work.ts)
 * on a real PostgreSQL: replicas made of the real WorkQueue, SharedWork and
 * PgLeases run a step that, like the reconciler's, reads the service row,
 * writes it back with its next attempt time and schedules itself again.
 */
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PgLeases } from "../control-plane/reconciler/leases-pg";
import { WorkQueue } from "../control-plane/reconciler/queue";
import { SharedWork } from "../control-plane/reconciler/shared-work";
import { MIGRATIONS, POSTGRES } from "../control-plane/store/migrations";
import { startPostgres, type TestPostgres } from "./support/postgres";

const clock = { now: () => Date.now() };
const STEPS = 5;
let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

async function database(): Promise<{ url: string; admin: pg.Pool }> {
  const url = await server.createDatabase();
  const admin = new pg.Pool({ connectionString: url, max: 4 });
  // The server's shutdown in afterAll may end a connection the pool is still closing
  // (57P01); without a listener that error would escape the test as an uncaught one.
  admin.on("error", () => {});
  for (const m of MIGRATIONS) for (const sql of m.sql(POSTGRES)) await admin.query(sql);
  return { url, admin };
}

/** A replica: its own pool, leases, queue; `step` counts and checks exclusivity through `working`. */
function replica(
  url: string,
  id: string,
  working: Map<string, string>,
  overlaps: string[],
  steps: Map<string, number>,
) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {});
  const leases = new PgLeases({ pool, replicaId: id, clock, ttlMs: 1_000, catchUpMs: 100, keepMs: 50 });
  const shared = new SharedWork({ leases, maxHeld: 32 });
  const queue: WorkQueue = new WorkQueue(
    clock,
    shared.wrap(async (sid) => {
      const other = working.get(sid);
      if (other) overlaps.push(`${sid}: ${id} while ${other}`);
      working.set(sid, id);
      try {
        const row = await pool.query<{ record: string }>("SELECT record FROM services WHERE id = $1", [sid]);
        await sleep(Math.random() * 4);
        const n = Number(row.rows[0]!.record) + 1;
        steps.set(sid, (steps.get(sid) ?? 0) + 1);
        // Polls a "backend" quickly at first (stays leased here), then waits longer (handed back).
        const next = n >= STEPS ? null : Date.now() + (n % 2 === 0 ? 10 : 120);
        await pool.query("UPDATE services SET record = $2, next_attempt_at = $3 WHERE id = $1", [
          sid,
          String(n),
          next,
        ]);
        if (next !== null) queue.schedule(sid, next);
      } finally {
        working.delete(sid);
      }
    }),
    8,
  );
  return {
    id,
    shared,
    leases,
    queue,
    start: () => shared.start(queue),
    async stop() {
      queue.stop();
      await queue.drained();
      await shared.stop();
      await pool.end();
    },
  };
}

describe("the work queue shared through leases", () => {
  it("three replicas step 150 services to the end, never two at once, and a wake reaches the holder", async () => {
    const { url, admin } = await database();
    const working = new Map<string, string>();
    const overlaps: string[] = [];
    const steps = new Map<string, number>();
    const rs = ["a", "b", "c"].map((id) => replica(url, id, working, overlaps, steps));
    try {
      for (const r of rs) await r.start();
      // Services arrive as the API makes them: a row due now, then a wake through some replica.
      for (let i = 0; i < 150; i++) {
        const id = `svc-${i}`;
        await admin.query(
          "INSERT INTO services (id, team_id, name, state, next_attempt_at, record) VALUES ($1, 1, $1, 'creating', $2, '0')",
          [id, Date.now()],
        );
        rs[i % 3]!.shared.wake(id);
        if (i % 10 === 0) await sleep(5);
      }
      const deadline = Date.now() + 60_000;
      for (;;) {
        const left = await admin.query(
          "SELECT count(*)::int AS n FROM services WHERE next_attempt_at IS NOT NULL",
        );
        if (left.rows[0].n === 0) break;
        if (Date.now() > deadline) throw new Error(`${left.rows[0].n} services never finished`);
        await sleep(50);
      }
      expect(overlaps).toEqual([]);
      const rows = await admin.query<{ record: string }>("SELECT record FROM services");
      expect(rows.rows.every((r) => r.record === String(STEPS))).toBe(true);
      // Every step the database recorded ran once: none was lost to a lost update, none doubled.
      expect([...steps.values()].every((n) => n === STEPS)).toBe(true);
      // Leases went back as work finished; nothing is queued or held for finished services.
      await sleep(300);
      expect((await admin.query("SELECT count(*)::int AS n FROM service_leases")).rows[0].n).toBe(0);
      for (const r of rs) expect(r.leases.stats().services).toBe(0);
      for (const r of rs) expect(r.queue.size).toBe(0);

      // A wake for a finished service: whichever replica claims it steps it once more.
      await admin.query("UPDATE services SET record = '0', next_attempt_at = $1 WHERE id = 'svc-7'", [
        Date.now(),
      ]);
      rs[2]!.shared.wake("svc-7");
      const until = Date.now() + 10_000;
      while (
        (await admin.query("SELECT record FROM services WHERE id = 'svc-7'")).rows[0].record !== String(STEPS)
      ) {
        if (Date.now() > until) throw new Error("woken service never finished");
        await sleep(20);
      }
      expect(steps.get("svc-7")).toBe(2 * STEPS);
      expect(overlaps).toEqual([]);
    } finally {
      for (const r of rs) await r.stop();
      await admin.end();
    }
  });
});
