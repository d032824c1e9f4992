/**
 * The store's contract, run against both stores (embedded SQLite and a real
 * PostgreSQL): transactions, compare-and-set writes, the API view column,
 * events with retention, secrets, and the catalog cache. What only one store
 * has is in store-dialects.test.ts.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { event, postgresKind, type StoreKind, service, sqliteKind } from "../../test/support/store-kinds";
import { viewOf } from "../domain/view";
import { NameTakenError, type ServiceRecord, StaleRecordError, Store, type StoreOptions } from "./store";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([sqliteKind(), postgresKind()])("store contract: $name", (kind: StoreKind) => {
  const open: Store[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => {});
  });
  afterAll(() => kind.cleanup(), 60_000);

  async function fresh(options?: StoreOptions) {
    const { store, where } = await kind.fresh(options);
    open.push(store);
    /** Reopens the data as a restart would. */
    const reopen = async () => {
      await store.close();
      const again = await Store.open(where);
      open.push(again);
      return again;
    };
    return { store, where, reopen };
  }

  describe("transactions", () => {
    it("joins a nested transaction to the outer one: a failure inside rolls back both", async () => {
      const { store, reopen } = await fresh();
      const a = service("a");
      await store.putService(a);
      const boom = new Error("boom");
      await expect(
        store.transaction(async () => {
          await store.putService({ ...a, config: { changed: true } });
          await store.putSealedSecret("a", "service", "sealed-outer");
          await store.transaction(async () => {
            await store.putService(service("b"));
            await store.addEvent("b", event("Inner", 1));
            throw boom;
          });
        }),
      ).rejects.toBe(boom);
      expect((await store.service("a"))?.config).toEqual({});
      expect(await store.service("b")).toBeUndefined();
      expect(await store.liveServiceNamed(1, "b")).toBeUndefined();
      const again = await reopen();
      expect((await again.service("a"))?.config).toEqual({});
      expect(await again.service("b")).toBeUndefined();
      expect(await again.sealedSecret("a", "service")).toBeUndefined();
      expect(await again.events("b", 0, 10)).toEqual([]);
    });

    it("rolls the whole transaction back when the outer one swallows a nested failure", async () => {
      const { store } = await fresh();
      await expect(
        store.transaction(async () => {
          await store.putService(service("a"));
          try {
            await store.transaction(async () => {
              await store.putService(service("b"));
              throw new Error("inner");
            });
          } catch {
            // An outer catch must not commit half of the joined work.
          }
        }),
      ).rejects.toThrow("rolled back: a nested transaction failed (inner)");
      expect(await store.service("a")).toBeUndefined();
    });

    it("commits nested work once, with the outer transaction", async () => {
      const { store, reopen } = await fresh();
      await store.transaction(async () => {
        await store.putService(service("a"));
        await store.transaction(() => store.putService(service("b")));
      });
      const again = await reopen();
      expect((await again.services()).map((r) => r.id).sort()).toEqual(["a", "b"]);
    });

    it("keeps a transaction's uncommitted writes from other callers, and theirs out of it", async () => {
      const { store } = await fresh();
      let seenOutside: ServiceRecord | undefined | "unset" = "unset";
      const tx = store.transaction(async () => {
        await store.putService(service("inside"));
        await sleep(50); // other requests run meanwhile
        throw new Error("rolled back on purpose");
      });
      await sleep(10);
      // A write and a read from outside, while the transaction is open.
      const outside = (async () => {
        await store.putService(service("outside"));
        seenOutside = await store.service("inside");
      })();
      await expect(tx).rejects.toThrow("rolled back on purpose");
      await outside;
      expect(seenOutside).toBeUndefined();
      expect(await store.service("inside")).toBeUndefined();
      expect((await store.service("outside"))?.id).toBe("outside");
    });

    it("does not let work that outlives a transaction (a woken job, a timer) write through it", async () => {
      const { store } = await fresh();
      let later: Promise<unknown> | undefined;
      await store.transaction(async () => {
        await store.putService(service("first"));
        // Started inside, runs on after the commit: its own transaction must really be its own.
        later = (async () => {
          await sleep(30);
          await store.transaction(async () => {
            await store.putService(service("late"));
            throw new Error("late one fails");
          });
        })();
      });
      await expect(later).rejects.toThrow("late one fails");
      expect(await store.service("late")).toBeUndefined();
      expect((await store.service("first"))?.id).toBe("first");
    });

    it("keeps a transaction's writes in it while another one ends beside it", async () => {
      const { store } = await fresh();
      const long = store
        .transaction(async () => {
          await sleep(40); // the short one commits meanwhile (PostgreSQL runs both at once)
          await store.putService(service("long"));
          throw new Error("long one fails");
        })
        .catch((e: Error) => e.message);
      await store.transaction(() => store.putService(service("short")));
      expect(await long).toBe("long one fails");
      expect(await store.service("long")).toBeUndefined();
      expect((await store.service("short"))?.id).toBe("short");
    });

    it("runs concurrent transactions without losing either", async () => {
      const { store } = await fresh();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.transaction(async () => {
            await store.putService(service(`s${i}`));
            await sleep(1);
            await store.addEvent(`s${i}`, event("E", 1));
          }),
        ),
      );
      expect(await store.services()).toHaveLength(20);
      expect(await store.events("s7", 0, 10)).toHaveLength(1);
    });
  });

  describe("service records", () => {
    it("writes compare-and-set on the revision: a writer holding an older one is refused", async () => {
      const { store } = await fresh();
      const first = service("a");
      await store.putService(first);
      expect(first.rev).toBe(1);
      const readByA = (await store.service("a"))!;
      const readByB = (await store.service("a"))!;
      await store.putService({ ...readByA, config: { by: "A" } });
      await expect(store.putService({ ...readByB, config: { by: "B" } })).rejects.toBeInstanceOf(
        StaleRecordError,
      );
      const stored = (await store.service("a"))!;
      expect(stored.config).toEqual({ by: "A" });
      expect(stored.rev).toBe(2);
    });

    it("refuses a second live service of the same team and name (the unique index), not a deleted one", async () => {
      const { store } = await fresh();
      const first = service("a", "db");
      await store.putService(first);
      await expect(store.putService(service("b", "db"))).rejects.toBeInstanceOf(NameTakenError);
      await store.putService({ ...first, deletedAt: new Date(1).toISOString(), state: "deleting" });
      await store.putService(service("b", "db"));
      expect((await store.liveServiceNamed(1, "db"))?.id).toBe("b");
    });

    it("keeps the API view as JSON text next to the record, rewritten with each write", async () => {
      const { store, reopen } = await fresh();
      const r = service("a");
      await store.putService(r);
      expect((await store.serviceView("a"))?.view).toBe(JSON.stringify(viewOf(r)));
      await store.putService({ ...r, state: "synchronized", detailsRef: "a" });
      const again = await reopen();
      const view = await again.serviceView("a");
      expect(view?.teamId).toBe(1);
      expect(JSON.parse(view!.view).status).toEqual({ state: "synchronized", detailsRef: "a" });
      expect(await again.serviceView("missing")).toBeUndefined();
    });

    it("answers the view as last committed: after a write at once, after a rolled-back write unchanged", async () => {
      const { store } = await fresh();
      const r = service("a");
      await store.putService(r);
      const stateOf = async () => JSON.parse((await store.serviceView("a"))!.view).status.state;
      expect(await stateOf()).toBe("creating");
      expect(await stateOf()).toBe("creating"); // a second read (from memory on SQLite)
      await store.putService({ ...r, state: "updating" });
      expect(await stateOf()).toBe("updating");
      const current = (await store.service("a"))!;
      await expect(
        store.transaction(async () => {
          await store.putService({ ...current, state: "deleting" });
          expect(await stateOf()).toBe("deleting"); // the transaction sees its own write
          throw new Error("undo");
        }),
      ).rejects.toThrow("undo");
      expect(await stateOf()).toBe("updating");
    });

    it("answers per team, per state and what is due", async () => {
      const { store } = await fresh();
      await store.putService({ ...service("a"), nextAttemptAt: 5 });
      await store.putService({ ...service("b"), teamId: 2, state: "synchronized" });
      expect((await store.servicesOfTeam(2)).map((r) => r.id)).toEqual(["b"]);
      expect(await store.countByState()).toEqual({ creating: 1, synchronized: 1 });
      expect(await store.dueServices()).toEqual([{ id: "a", next_attempt_at: 5 }]);
    });

    it("purges a service, its events and its secrets together, or not at all", async () => {
      const { store, reopen } = await fresh();
      await store.putService(service("a"));
      await store.addEvent("a", event("One", 1));
      await store.putSealedSecret("a", "service", "sealed");
      await expect(
        store.transaction(async () => {
          await store.purgeService("a");
          throw new Error("after the purge");
        }),
      ).rejects.toThrow("after the purge");
      expect((await store.service("a"))?.id).toBe("a");
      expect(await store.events("a", 0, 10)).toHaveLength(1);
      expect(await store.sealedSecret("a", "service")).toBe("sealed");
      await store.purgeService("a");
      const again = await reopen();
      expect(await again.service("a")).toBeUndefined();
      expect(await again.events("a", 0, 10)).toEqual([]);
      expect(await again.sealedSecret("a", "service")).toBeUndefined();
    });
  });

  describe("catalog", () => {
    const provider = (name: string) => ({
      entry: { name, schemaVersion: "v1", version: "v1" } as unknown as schemas.Provider,
      scope: { type: "global" as const },
      builtin: false,
    });

    it("hands out the same parsed catalog until a provider changes, and a fresh one after", async () => {
      const { store } = await fresh();
      await store.putProvider(provider("one"));
      const first = await store.providers();
      expect(await store.providers()).toBe(first);
      await store.putProvider(provider("two"));
      const second = await store.providers();
      expect(second).not.toBe(first);
      expect(second.map((p) => p.entry.name)).toEqual(["one", "two"]);
      await store.deleteProvider("one", "v1");
      expect((await store.providers()).map((p) => p.entry.name)).toEqual(["two"]);
    });

    it("does not keep a catalog read inside a transaction that rolls back", async () => {
      const { store } = await fresh();
      await store.putProvider(provider("one"));
      await expect(
        store.transaction(async () => {
          await store.putProvider(provider("two"));
          expect((await store.providers()).map((p) => p.entry.name)).toEqual(["one", "two"]);
          throw new Error("no");
        }),
      ).rejects.toThrow("no");
      expect((await store.providers()).map((p) => p.entry.name)).toEqual(["one"]);
    });
  });

  describe("event retention", () => {
    it("keeps at most about maxPerService events per service, the newest, without touching others", async () => {
      const { store } = await fresh({ eventRetention: { maxPerService: 50 } });
      const t0 = Date.parse("2025-01-01T00:00:00Z");
      for (let i = 0; i < 200; i++) await store.addEvent("busy", event(`E${i}`, t0 + i));
      await store.addEvent("quiet", event("Q", t0));
      const kept = await store.events("busy", 0, 1_000);
      // Trimmed every 5 writes (a tenth of the cap): never more than cap + 5.
      expect(kept.length).toBeGreaterThanOrEqual(50);
      expect(kept.length).toBeLessThanOrEqual(55);
      expect(kept.at(-1)?.event.eventName).toBe("E199");
      expect(kept.map((e) => e.event.eventName)).toEqual(
        Array.from({ length: kept.length }, (_, i) => `E${200 - kept.length + i}`),
      );
      expect(await store.events("quiet", 0, 10)).toHaveLength(1);
    });

    it("drops events older than maxAgeDays when the service writes again", async () => {
      const { store } = await fresh({ eventRetention: { maxPerService: 10, maxAgeDays: 30 } });
      const day = 86_400_000;
      const t0 = Date.parse("2025-01-01T00:00:00Z");
      for (let i = 0; i < 3; i++) await store.addEvent("s", event(`Old${i}`, t0 + i));
      // The first trim runs on the first write after start; the next after 1 more (a tenth of 10).
      await store.addEvent("s", event("New", t0 + 31 * day));
      expect((await store.events("s", 0, 100)).map((e) => e.event.eventName)).toEqual(["New"]);
    });

    it("ages out the logs of services that no longer write, through pruneEvents", async () => {
      const { store } = await fresh();
      const day = 86_400_000;
      const t0 = Date.parse("2025-01-01T00:00:00Z");
      await store.addEvent("idle", event("Old", t0));
      await store.addEvent("idle", event("Recent", t0 + 20 * day));
      await store.addEvent("other", event("Other", t0 + 1));
      expect(await store.pruneEvents(t0 + 29 * day)).toBe(0);
      expect(await store.pruneEvents(t0 + 31 * day)).toBe(2);
      expect((await store.events("idle", 0, 10)).map((e) => e.event.eventName)).toEqual(["Recent"]);
      expect(await store.events("other", 0, 10)).toEqual([]);
    });
  });

  it("answers a ping, and keeps metadata and sealed secrets", async () => {
    const { store, reopen } = await fresh();
    await store.ping();
    await store.setMeta("k", "v1");
    await store.setMeta("k", "v2");
    await store.putSealedSecret("o", "backups", "s1");
    const again = await reopen();
    expect(await again.meta("k")).toBe("v2");
    expect(await again.allSealedSecrets()).toEqual([{ owner: "o", kind: "backups", sealed: "s1" }]);
  });
});
