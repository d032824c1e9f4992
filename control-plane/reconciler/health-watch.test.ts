import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BackendClient } from "../backends/client";
import { openSqlite } from "../store/sqlite-open";
import { type ServiceRecord, Store } from "../store/store";
import { HealthWatch, renderHealthMetrics } from "./health-watch";

/** A backend holding services with fixed answers; counts each GET and the ids it asked for. */
async function startBackend() {
  const held = new Map<string, Record<string, unknown>>();
  const gets: string[][] = [];
  let failing = false;
  const server = http.createServer((req, res) => {
    const ids = new URL(req.url ?? "/", "http://x").searchParams.getAll("id");
    gets.push(ids);
    if (failing) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "down" }));
      return;
    }
    const out: Record<string, unknown> = {};
    for (const id of ids) if (held.has(id)) out[id] = held.get(id);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(out));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    held,
    gets,
    fail: (on: boolean) => {
      failing = on;
    },
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

function record(i: number, over: Partial<ServiceRecord> = {}): ServiceRecord {
  return {
    id: `svc-${String(i).padStart(4, "0")}`,
    teamId: 1,
    name: `s${i}`,
    provider: { name: "p", schemaVersion: "v1" },
    plan: { id: 0, parameters: { cpu: 1 } },
    config: { a: i },
    pause: false,
    backups: { enabled: false },
    backupEntries: [],
    createdAt: new Date(0).toISOString(),
    state: "synchronized",
    details: { ready: true, restarts: 0 },
    generation: 1,
    observedGeneration: 1,
    sentGeneration: 1,
    secretsVersion: 1,
    sentSecretsVersion: 1,
    backendCreated: true,
    failures: 0,
    nextAttemptAt: null,
    recentEvents: [],
    ...over,
  };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(n: number) {
  const dir = mkdtempSync(join(tmpdir(), "landform-health-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await Store.sqlite(dir);
  cleanup.push(() => store.close());
  const backend = await startBackend();
  cleanup.push(() => backend.close());
  for (let i = 0; i < n; i++) {
    const r = record(i);
    await store.putService(r);
    backend.held.set(r.id, { plan: r.plan, config: r.config, details: r.details, pause: false });
  }
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const woken: string[] = [];
  let mine = true;
  const client = new BackendClient({ endpoint: backend.url });
  const watch = new HealthWatch({
    clock,
    random: () => 0,
    everyMs: 60_000,
    page: (after, limit) => store.convergedServices(after, limit),
    backendOf: async () => client,
    mine: async () => mine,
    wake: (id) => woken.push(id),
  });
  cleanup.push(() => watch.stop());
  return {
    store,
    dir,
    backend,
    watch,
    woken,
    advance: (ms: number) => {
      offset += ms;
      watch.tick();
    },
    notMine: () => {
      mine = false;
    },
  };
}

describe("health watch", () => {
  it("asks the backend about 100 services a call and wakes none when nothing changed", async () => {
    const { backend, watch, woken } = await setup(250);
    await watch.sweep();
    expect(backend.gets.map((ids) => ids.length)).toEqual([100, 100, 50]);
    expect(new Set(backend.gets.flat()).size).toBe(250);
    expect(woken).toEqual([]);
    expect(watch.stats).toEqual({ sweeps: 1, checked: 250, woken: 0 });
    expect(renderHealthMetrics(watch.stats)).toContain("landform_health_checked_total 250");
  });

  it("wakes exactly the services whose backend answer changed: restarted, lost, not ready, failing", async () => {
    const { backend, watch, woken } = await setup(120);
    const at = (i: number) => `svc-${String(i).padStart(4, "0")}`;
    backend.held.set(at(3), { ...backend.held.get(at(3)), details: { ready: true, restarts: 1 } });
    backend.held.delete(at(50));
    backend.held.set(at(101), { ...backend.held.get(at(101)), details: { ready: false, restarts: 0 } });
    backend.held.set(at(119), { ...backend.held.get(at(119)), error: "disk full" });
    await watch.sweep();
    expect(woken.sort()).toEqual([at(3), at(50), at(101), at(119)]);
    expect(watch.stats).toEqual({ sweeps: 1, checked: 120, woken: 4 });
  });

  it("wakes a service whose plan, config or pause differs, or whose record changed since", async () => {
    const { store, backend, watch, woken } = await setup(6);
    const at = (i: number) => `svc-${String(i).padStart(4, "0")}`;
    backend.held.set(at(0), { ...backend.held.get(at(0)), plan: { id: 0, parameters: { cpu: 2 } } });
    backend.held.set(at(1), { ...backend.held.get(at(1)), config: { a: 99 } });
    backend.held.set(at(2), { ...backend.held.get(at(2)), pause: true });
    // The record asks for more than the backend runs: the watch column follows the record's write.
    await store.putService({ ...(await store.service(at(3)))!, config: { a: 3, more: true } });
    // Paused and not ready is what a paused service looks like: nothing to do.
    await store.putService({ ...(await store.service(at(4)))!, state: "paused", pause: true });
    backend.held.set(at(4), {
      ...backend.held.get(at(4)),
      pause: true,
      details: { ready: true, restarts: 0 },
    });
    await watch.sweep();
    expect(woken.sort()).toEqual([at(0), at(1), at(2), at(3)]);
  });

  it("judges a row without its watch column by the record", async () => {
    const { store, dir, backend, watch, woken } = await setup(3);
    const at = (i: number) => `svc-${String(i).padStart(4, "0")}`;
    const db = openSqlite(join(dir, "control-plane.sqlite"));
    db.prepare("UPDATE services SET watch = NULL").run();
    db.close();
    backend.held.set(at(2), { ...backend.held.get(at(2)), details: { ready: true, restarts: 5 } });
    expect((await store.convergedServices("", 10)).map((w) => w.expected)).toEqual(
      [0, 1, 2].map((i) => JSON.stringify([{ cpu: 1 }, { a: i }, { ready: true, restarts: 0 }])),
    );
    await watch.sweep();
    expect(woken).toEqual([at(2)]);
  });

  it("leaves out deleted, unconverged and soon-due services", async () => {
    const { store, backend, watch } = await setup(3);
    await store.putService(record(10, { state: "updating" }));
    await store.putService(record(11, { deletedAt: new Date().toISOString(), name: "gone" }));
    await store.putService(record(12, { nextAttemptAt: Date.now() + 1_000 }));
    await store.putService(
      record(13, { state: "paused", pause: true, nextAttemptAt: Date.now() + 3_600_000 }),
    );
    await watch.sweep();
    expect(backend.gets.flat().sort()).toEqual(["svc-0000", "svc-0001", "svc-0002", "svc-0013"]);
  });

  it("wakes every service of a batch whose backend call failed, so each step records the failure", async () => {
    const { backend, watch, woken } = await setup(5);
    backend.fail(true);
    await watch.sweep();
    expect(woken).toHaveLength(5);
  });

  it("sweeps on the control plane's clock, and only on the replica whose turn it is", async () => {
    const { backend, watch, advance, notMine } = await setup(2);
    watch.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.gets).toHaveLength(0);
    advance(61_000);
    await expect.poll(() => backend.gets.length).toBe(1);
    notMine();
    advance(61_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(backend.gets).toHaveLength(1);
  });
});
