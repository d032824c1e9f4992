/**
 * Leases between control-plane replicas (control-plane/reconciler/leases-pg.ts)
 * against a real PostgreSQL: the schema is the store's migrations plus the
 * lease tables, each "replica" is a PgLeases with a pool of its own, as
 * separate processes would have.
 */
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Claim, type LeaseEvents, renderLeaseMetrics } from "../control-plane/reconciler/leases";
import { PgLeases } from "../control-plane/reconciler/leases-pg";
import { MIGRATIONS, POSTGRES } from "../control-plane/store/migrations";
import { startPostgres, type TestPostgres } from "./support/postgres";

const clock = { now: () => Date.now() };
let server: TestPostgres;
const opened: { leases: PgLeases[]; pools: pg.Pool[] } = { leases: [], pools: [] };

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  for (const l of opened.leases.splice(0)) await l.stop().catch(() => {});
  for (const p of opened.pools.splice(0)) await p.end().catch(() => {});
});

/** A fresh database with the store's schema, the lease tables and `count` services due now. */
async function database(count: number): Promise<string> {
  const url = await server.createDatabase();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const m of MIGRATIONS) for (const sql of m.sql(POSTGRES)) await c.query(sql);
    await c.query(
      `INSERT INTO services (id, team_id, name, state, next_attempt_at, record)
       SELECT 'svc-' || g, 1, 'name-' || g, 'creating', $1::bigint - g, '0' FROM generate_series(1, $2::int) g`,
      [Date.now(), count],
    );
  } finally {
    await c.end();
  }
  return url;
}

function pool(url: string): pg.Pool {
  const p = new pg.Pool({ connectionString: url, max: 4 });
  p.on("error", () => {});
  opened.pools.push(p);
  return p;
}

function replica(
  url: string,
  id: string,
  options: { ttlMs?: number; catchUpMs?: number; keepMs?: number } = {},
) {
  const leases = new PgLeases({ pool: pool(url), replicaId: id, clock, ...options });
  opened.leases.push(leases);
  return leases;
}

/** Events that record what a started replica was told. */
function recorder(capacity = 1_000) {
  const seen = {
    claimed: [] as Claim[],
    woken: [] as string[],
    lost: [] as string[],
    errors: [] as unknown[],
  };
  const waiters: (() => void)[] = [];
  const events: LeaseEvents = {
    claimed: (c) => {
      seen.claimed.push(...c);
      for (const w of waiters.splice(0)) w();
    },
    wake: (id) => {
      seen.woken.push(id);
      for (const w of waiters.splice(0)) w();
    },
    lost: (id) => seen.lost.push(id),
    capacity: () => capacity,
    error: (err) => seen.errors.push(err),
  };
  const until = async (ok: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out");
      await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(Math.min(left, 20))]);
    }
  };
  return { seen, events, until };
}

/**
 * Replicas step through every service: each service needs three steps; a
 * step checks that no other replica holds the service at that moment, bumps
 * the step count in the row, and makes the service due again until it has
 * had three (so services move between replicas).
 */
async function compete(replicaCount: number, services: number) {
  const url = await database(services);
  const admin = pool(url);
  const replicas = Array.from({ length: replicaCount }, (_, i) => replica(url, `r${i}`, { keepMs: 0 }));
  const workingOn = new Map<string, string>();
  const overlaps: string[] = [];
  const steps = new Map<string, number>();
  const byReplica = new Map<string, number>();
  const deadline = Date.now() + 60_000;
  await Promise.all(
    replicas.map(async (r) => {
      for (;;) {
        const claims = await r.claimDue(8);
        if (claims.length === 0) {
          const left = await admin.query(
            "SELECT count(*)::int AS n FROM services WHERE next_attempt_at IS NOT NULL",
          );
          if (left.rows[0].n === 0 || Date.now() > deadline) return;
          await sleep(2);
          continue;
        }
        await Promise.all(
          claims.map(async ({ id }) => {
            const other = workingOn.get(id);
            if (other) overlaps.push(`${id}: ${r.replicaId} while ${other}`);
            workingOn.set(id, r.replicaId);
            await sleep(Math.random() * 3);
            const n = (steps.get(id) ?? 0) + 1;
            steps.set(id, n);
            byReplica.set(r.replicaId, (byReplica.get(r.replicaId) ?? 0) + 1);
            await admin.query("UPDATE services SET record = $2, next_attempt_at = $3 WHERE id = $1", [
              id,
              String(n),
              n < 3 ? Date.now() : null,
            ]);
            workingOn.delete(id);
            expect(await r.release(id, n < 3 ? Date.now() : null)).toBe("released");
          }),
        );
      }
    }),
  );
  const rows = await admin.query<{ record: string; next_attempt_at: string | null }>(
    "SELECT record, next_attempt_at FROM services",
  );
  const leftover = await admin.query("SELECT count(*)::int AS n FROM service_leases");
  return {
    overlaps,
    steps,
    byReplica,
    rows: rows.rows,
    leftoverLeases: leftover.rows[0].n as number,
    replicas,
  };
}

describe("replicas competing for due work", () => {
  for (const count of [2, 3]) {
    it(`${count} replicas over 200 services: never two on one service, every step done once`, async () => {
      const r = await compete(count, 200);
      expect(r.overlaps).toEqual([]);
      expect(r.steps.size).toBe(200);
      expect([...r.steps.values()].every((n) => n === 3)).toBe(true);
      // The database agrees: three steps recorded per service, none due, no lease left behind.
      expect(r.rows.every((row) => row.record === "3" && row.next_attempt_at === null)).toBe(true);
      expect(r.leftoverLeases).toBe(0);
      // The work was shared, not done by one replica while the others waited.
      expect(r.byReplica.size).toBe(count);
      for (const n of r.byReplica.values()) expect(n).toBeGreaterThan(600 / count / 4);
      for (const l of r.replicas) expect(l.stats()).toEqual({ services: 0, singletons: 0, takenOver: 0 });
    });
  }

  it("claims earliest due first and leaves work that is not due yet", async () => {
    const url = await database(5);
    const admin = pool(url);
    await admin.query("UPDATE services SET next_attempt_at = $1 WHERE id = 'svc-5'", [Date.now() + 60_000]);
    const a = replica(url, "a");
    const claims = await a.claimDue(10);
    // svc-4 is the earliest (due at now - 4 ms), then 3, 2, 1; svc-5 is due in a minute.
    expect(claims.map((c) => c.id)).toEqual(["svc-4", "svc-3", "svc-2", "svc-1"]);
    const b = replica(url, "b");
    expect(await b.claimDue(10)).toEqual([]);
    // By id (a notification): a service not due yet is claimed to be looked at now; a held one is not.
    const before = Date.now();
    const byId = await b.claim(["svc-5", "svc-1", "no-such-service"]);
    expect(byId.map((c) => c.id)).toEqual(["svc-5"]);
    expect(byId[0]!.nextAttemptAt).toBeLessThanOrEqual(Date.now());
    expect(byId[0]!.nextAttemptAt).toBeGreaterThanOrEqual(before);
    expect(b.holds("svc-5") && !b.holds("svc-1") && a.holds("svc-1")).toBe(true);
  });
});

describe("a replica that stops renewing", () => {
  it("keeps its leases until they expire, then another replica takes them over and counts them", async () => {
    const url = await database(50);
    const dead = replica(url, "dead", { ttlMs: 400 });
    const claimedByDead = await dead.claimDue(100);
    expect(claimedByDead).toHaveLength(50);
    // "dead" never starts its renewal loop: as if killed right after claiming.
    const heir = replica(url, "heir", { ttlMs: 400, catchUpMs: 50 });
    expect(await heir.claimDue(100)).toEqual([]);
    const { seen, events, until } = recorder();
    await heir.start(events);
    await until(() => seen.claimed.length === 50, 5_000);
    expect(new Set(seen.claimed.map((c) => c.id)).size).toBe(50);
    expect(seen.claimed.every((c) => c.takenOverFrom === "dead")).toBe(true);
    expect(heir.stats()).toMatchObject({ services: 50, takenOver: 50 });
    const text = renderLeaseMetrics(heir.replicaId, heir.stats()).join("\n");
    expect(text).toContain('landform_leases_taken_over_total{replica="heir"} 50');
    expect(text).toContain('landform_leases_held{replica="heir",kind="service"} 50');
    // The dead replica's late release finds the lease gone and changes nothing.
    expect(await dead.release("svc-1", null)).toBe("lost");
    expect(heir.holds("svc-1")).toBe(true);
  });

  it("a renewing replica keeps its leases well past the expiry time; a late renewal reports the loss", async () => {
    const url = await database(10);
    const holder = replica(url, "holder", { ttlMs: 300, catchUpMs: 50 });
    const held = recorder();
    await holder.start(held.events);
    await held.until(() => held.seen.claimed.length === 10, 5_000);
    const other = replica(url, "other", { ttlMs: 300 });
    await sleep(1_000); // more than three lease lifetimes
    expect(await other.claimDue(100)).toEqual([]);
    expect(holder.stats().services).toBe(10);
    // A replica whose renewal never comes: `other` takes over after expiry; `stale` learns it lost them.
    const stale = replica(url, "stale", { ttlMs: 300 });
    await holder.stop(); // gives its leases back
    expect(await stale.claimDue(100)).toHaveLength(10);
    await sleep(400);
    expect((await other.claimDue(100)).filter((c) => c.takenOverFrom === "stale")).toHaveLength(10);
    expect([...(await stale.renew(["svc-1", "svc-2"]))]).toEqual([]);
    expect(stale.holds("svc-1")).toBe(false);
  });
});

describe("notifications", () => {
  it("NOTIFY wakes a waiting replica within about 100 ms, without waiting for the catch-up", async () => {
    const url = await database(0);
    const admin = pool(url);
    const sender = replica(url, "sender");
    const waiter = replica(url, "waiter", { catchUpMs: 600_000 });
    const { seen, events, until } = recorder();
    await waiter.start(events);
    const delays: number[] = [];
    for (let i = 1; i <= 5; i++) {
      await admin.query(
        "INSERT INTO services (id, team_id, name, state, next_attempt_at, record) VALUES ($1, 1, $1, 'creating', $2, '0')",
        [`new-${i}`, Date.now()],
      );
      const t0 = performance.now();
      await sender.notify(`new-${i}`);
      await until(() => seen.claimed.some((c) => c.id === `new-${i}`), 2_000);
      delays.push(performance.now() - t0);
    }
    delays.sort((a, b) => a - b);
    console.log(`NOTIFY to claim, ms: ${delays.map((d) => d.toFixed(1)).join(", ")}`);
    expect(delays[2]).toBeLessThan(100);
    // A notification for a service the replica holds wakes it instead of claiming again.
    await sender.notify("new-3");
    await until(() => seen.woken.includes("new-3"), 2_000);
    expect(seen.claimed.filter((c) => c.id === "new-3")).toHaveLength(1);
    expect(seen.errors).toEqual([]);
  });
});

describe("cluster singletons", () => {
  it("exactly one replica runs a singleton; it keeps it while alive and another takes it after", async () => {
    const url = await database(0);
    const rs = ["s0", "s1", "s2"].map((id) => replica(url, id, { ttlMs: 300 }));
    const recs = rs.map(() => recorder());
    await Promise.all(rs.map((r, i) => r.start(recs[i]!.events)));
    const first = await Promise.all(rs.map((r) => r.singleton("retention-sweeper")));
    expect(first.filter(Boolean)).toHaveLength(1);
    const owner = first.indexOf(true);
    // Renewed by the owner's heartbeat: still its after several lifetimes.
    await sleep(1_000);
    const again = await Promise.all(rs.map((r) => r.singleton("retention-sweeper")));
    expect(again.indexOf(true)).toBe(owner);
    expect(again.filter(Boolean)).toHaveLength(1);
    // Another name is independent.
    expect((await Promise.all(rs.map((r) => r.singleton("backup-scheduler")))).filter(Boolean)).toHaveLength(
      1,
    );
    // The owner stops: another replica gets it at once (given back, no expiry wait).
    await rs[owner]!.stop();
    const rest = rs.filter((_, i) => i !== owner);
    const after = await Promise.all(rest.map((r) => r.singleton("retention-sweeper")));
    expect(after.filter(Boolean)).toHaveLength(1);
  });
});
