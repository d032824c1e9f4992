/**
 * A service record written with its events and secrets (`writeService`: one
 * statement on PostgreSQL, one transaction on SQLite), on both stores: all of
 * it or none of it, in order, with the event log's retention kept.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { event, postgresKind, type StoreKind, service, sqliteKind } from "../../test/support/store-kinds";
import { NameTakenError, StaleRecordError, type Store, type StoreOptions } from "./store";

const T0 = Date.parse("2025-01-01T00:00:00Z");
const DAY = 86_400_000;

const names = async (store: Store, id: string) =>
  (await store.events(id, 0, 1_000)).map((e) => e.event.eventName);

describe.each([sqliteKind(), postgresKind()])("writeService: $name", (kind: StoreKind) => {
  const open: Store[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => {});
  });
  afterAll(() => kind.cleanup(), 60_000);
  async function fresh(options?: StoreOptions): Promise<Store> {
    const { store } = await kind.fresh(options);
    open.push(store);
    return store;
  }

  it("writes a new record with its events in order and its secrets, and bumps the revision", async () => {
    const store = await fresh();
    const a = service("a");
    await store.writeService(
      a,
      [event("First", T0), event("Second", T0 + 1)],
      [
        { kind: "service", sealed: "sealed-1" },
        { kind: "backups", sealed: "sealed-2" },
      ],
    );
    expect(a.rev).toBe(1);
    expect((await store.service("a"))?.rev).toBe(1);
    expect(await names(store, "a")).toEqual(["First", "Second"]);
    expect(await store.sealedSecret("a", "service")).toBe("sealed-1");
    expect(await store.sealedSecret("a", "backups")).toBe("sealed-2");
    expect(JSON.parse((await store.serviceView("a"))?.view ?? "{}").id).toBe("a");

    await store.writeService({ ...a, state: "synchronized" }, [event("Third", T0 + 2)]);
    expect((await store.service("a"))?.state).toBe("synchronized");
    expect(await names(store, "a")).toEqual(["First", "Second", "Third"]);
  });

  it("writes nothing of a stale write or of a new record whose name is taken", async () => {
    const store = await fresh();
    const a = service("a");
    await store.writeService(a, [event("Created", T0)]);
    const stale = { ...a, rev: 0, state: "updating" as const };
    await expect(store.writeService(stale, [event("Lost", T0 + 1)])).rejects.toBeInstanceOf(StaleRecordError);
    const twin = service("b", "a");
    await expect(
      store.writeService(twin, [event("Twin", T0)], [{ kind: "service", sealed: "x" }]),
    ).rejects.toBeInstanceOf(NameTakenError);
    expect((await store.service("a"))?.state).toBe(a.state);
    expect(await names(store, "a")).toEqual(["Created"]);
    expect(await store.service("b")).toBeUndefined();
    expect(await names(store, "b")).toEqual([]);
    expect(await store.sealedSecret("b", "service")).toBeUndefined();
  });

  it("keeps the log within maxPerService and maxAgeDays as records are written with events", async () => {
    const store = await fresh({ eventRetention: { maxPerService: 20, maxAgeDays: 30 } });
    const a = service("a");
    for (let i = 0; i < 60; i++) await store.writeService(a, [event(`E${i}`, T0 + i)]);
    const kept = await names(store, "a");
    // Trimmed every 2 events (a tenth of the cap): never more than the cap + 2, the newest last.
    expect(kept.length).toBeGreaterThanOrEqual(20);
    expect(kept.length).toBeLessThanOrEqual(22);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => `E${60 - kept.length + i}`));
    // A write a month later drops what is older than 30 days (kept when it is due, at most 2 writes on).
    await store.writeService(a, [event("Late1", T0 + 31 * DAY)]);
    await store.writeService(a, [event("Late2", T0 + 31 * DAY + 1)]);
    await store.writeService(a, [event("Late3", T0 + 31 * DAY + 2)]);
    expect((await names(store, "a")).filter((n) => n.startsWith("E"))).toEqual([]);
  });
});
