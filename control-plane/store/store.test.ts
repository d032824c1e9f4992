import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { type ServiceRecord, Store } from "./store";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0).reverse()) c();
});
function openStore(options?: ConstructorParameters<typeof Store>[1]): { store: Store; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "landform-store-"));
  const store = new Store(dir, options);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanup.push(() => store.close());
  return { store, dir };
}
/** Reopens the data dir as a restart would (the in-memory view rebuilt from the database). */
function reopen(store: Store, dir: string): Store {
  store.close();
  const again = new Store(dir);
  cleanup.push(() => again.close());
  return again;
}

function service(id: string, name = id): ServiceRecord {
  return {
    id,
    teamId: 1,
    name,
    provider: { name: "postgres", schemaVersion: "v1" },
    plan: { id: 0, parameters: {} } as unknown as schemas.PlanSelection,
    config: {},
    pause: false,
    backups: { enabled: false },
    backupEntries: [],
    createdAt: new Date(0).toISOString(),
    state: "creating",
    generation: 1,
    observedGeneration: 0,
    sentGeneration: 0,
    secretsVersion: 1,
    sentSecretsVersion: 0,
    backendCreated: false,
    failures: 0,
    nextAttemptAt: null,
    recentEvents: [],
  };
}

function event(name: string, at: number): schemas.LogRecord {
  const timestamp = new Date(at).toISOString();
  return {
    eventName: name,
    timestamp,
    observedTimestamp: timestamp,
    severityNumber: 9,
    body: name,
    resource: "managed-service/x",
    attributes: {},
  };
}

describe("store transactions", () => {
  it("joins a nested transaction to the outer one: a failure inside rolls back both, on disk and in memory", () => {
    const { store, dir } = openStore();
    store.putService(service("a"));
    const boom = new Error("boom");
    expect(() =>
      store.transaction(() => {
        store.putService({ ...service("a"), config: { changed: true } });
        store.putSealedSecret("a", "service", "sealed-outer");
        store.transaction(() => {
          store.putService(service("b"));
          store.addEvent("b", event("Inner", 1));
          throw boom;
        });
      }),
    ).toThrow(boom);
    expect(store.service("a")?.config).toEqual({});
    expect(store.service("b")).toBeUndefined();
    expect(store.liveServiceNamed(1, "b")).toBeUndefined();
    const again = reopen(store, dir);
    expect(again.service("a")?.config).toEqual({});
    expect(again.service("b")).toBeUndefined();
    expect(again.sealedSecret("a", "service")).toBeUndefined();
    expect(again.events("b", 0, 10)).toEqual([]);
  });

  it("rolls the whole transaction back when the outer one swallows a nested failure", () => {
    const { store, dir } = openStore();
    expect(() =>
      store.transaction(() => {
        store.putService(service("a"));
        try {
          store.transaction(() => {
            store.putService(service("b"));
            throw new Error("inner");
          });
        } catch {
          // An outer catch must not commit half of the joined work.
        }
      }),
    ).toThrow("rolled back: a nested transaction failed (inner)");
    expect(store.service("a")).toBeUndefined();
    expect(reopen(store, dir).service("a")).toBeUndefined();
  });

  it("commits nested work once, with the outer transaction", () => {
    const { store, dir } = openStore();
    store.transaction(() => {
      store.putService(service("a"));
      store.transaction(() => store.putService(service("b")));
    });
    const again = reopen(store, dir);
    expect([...again.services()].map((r) => r.id).sort()).toEqual(["a", "b"]);
  });

  it("purges a service, its events and its secrets together", () => {
    const { store, dir } = openStore();
    store.putService(service("a"));
    store.addEvent("a", event("One", 1));
    store.putSealedSecret("a", "service", "sealed");
    store.purgeService("a");
    const again = reopen(store, dir);
    expect(again.service("a")).toBeUndefined();
    expect(again.events("a", 0, 10)).toEqual([]);
    expect(again.sealedSecret("a", "service")).toBeUndefined();
  });

  it("rolls a purge inside a failing transaction back entirely", () => {
    const { store, dir } = openStore();
    store.putService(service("a"));
    store.addEvent("a", event("One", 1));
    store.putSealedSecret("a", "service", "sealed");
    expect(() =>
      store.transaction(() => {
        store.purgeService("a");
        throw new Error("after the purge");
      }),
    ).toThrow("after the purge");
    expect(store.service("a")?.id).toBe("a");
    const again = reopen(store, dir);
    expect(again.service("a")?.id).toBe("a");
    expect(again.events("a", 0, 10)).toHaveLength(1);
    expect(again.sealedSecret("a", "service")).toBe("sealed");
  });
});

describe("event retention", () => {
  const rows = (dir: string, id: string) => {
    const db = new Database(join(dir, "control-plane.sqlite"), { readonly: true });
    try {
      return (db.prepare("SELECT COUNT(*) AS n FROM events WHERE service_id = ?").get(id) as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it("keeps at most about maxPerService events per service, the newest, without touching others", () => {
    const { store, dir } = openStore({ eventRetention: { maxPerService: 50 } });
    const t0 = Date.parse("2025-01-01T00:00:00Z");
    for (let i = 0; i < 500; i++) store.addEvent("busy", event(`E${i}`, t0 + i));
    store.addEvent("quiet", event("Q", t0));
    const kept = store.events("busy", 0, 1_000);
    // Trimmed every 5 writes (a tenth of the cap): never more than cap + 5.
    expect(kept.length).toBeGreaterThanOrEqual(50);
    expect(kept.length).toBeLessThanOrEqual(55);
    expect(kept.at(-1)?.event.eventName).toBe("E499");
    expect(kept.map((e) => e.event.eventName)).toEqual(
      Array.from({ length: kept.length }, (_, i) => `E${500 - kept.length + i}`),
    );
    expect(rows(dir, "quiet")).toBe(1);
  });

  it("drops events older than maxAgeDays when the service writes again", () => {
    const { store } = openStore({ eventRetention: { maxPerService: 10, maxAgeDays: 30 } });
    const day = 86_400_000;
    const t0 = Date.parse("2025-01-01T00:00:00Z");
    for (let i = 0; i < 3; i++) store.addEvent("s", event(`Old${i}`, t0 + i));
    // The first trim runs on the first write after start; the next after 1 more (a tenth of 10).
    store.addEvent("s", event("New", t0 + 31 * day));
    expect(store.events("s", 0, 100).map((e) => e.event.eventName)).toEqual(["New"]);
  });

  it("ages out the logs of services that no longer write, through pruneEvents", () => {
    const { store, dir } = openStore();
    const day = 86_400_000;
    const t0 = Date.parse("2025-01-01T00:00:00Z");
    store.addEvent("idle", event("Old", t0));
    store.addEvent("idle", event("Recent", t0 + 20 * day));
    store.addEvent("other", event("Other", t0 + 1));
    expect(store.pruneEvents(t0 + 29 * day)).toBe(0);
    expect(store.pruneEvents(t0 + 31 * day)).toBe(2);
    expect(store.events("idle", 0, 10).map((e) => e.event.eventName)).toEqual(["Recent"]);
    expect(rows(dir, "other")).toBe(0);
  });

  it("uses an index for both trims, never a scan of the whole table", () => {
    const { dir, store } = openStore();
    store.addEvent("s", event("One", 1));
    const db = new Database(join(dir, "control-plane.sqlite"), { readonly: true });
    const plan = (sql: string) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join("; ");
    expect(plan("DELETE FROM events WHERE at < 5")).toMatch(/USING (COVERING )?INDEX events_at/);
    expect(plan("DELETE FROM events WHERE service_id = 's' AND at < 5")).toMatch(/INDEX events_(service|at)/);
    expect(
      plan(
        "DELETE FROM events WHERE service_id = 's' AND seq <= (SELECT seq FROM events WHERE service_id = 's' ORDER BY seq DESC LIMIT 1 OFFSET 10)",
      ),
    ).not.toMatch(/SCAN events(?! USING)/);
    db.close();
  });
});
