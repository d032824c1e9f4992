/**
 * The reconciler's backup paths against a backend that speaks the provider
 * backend contract over HTTP (a small one written here, so a test can make a
 * record change arrive exactly while a backup is being started, and count
 * every backup object the backend holds). Store, vault, catalog, client and
 * reconciler are the real ones.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { bundledCatalog } from "../backends/catalog";
import { Catalog } from "../domain/providers";
import { type ServiceRecord, Store } from "../store/store";
import { Vault } from "../store/vault";
import { MAX_FAILURES, MAX_UNCONFIRMED, UNCONFIRMED_MAX_AGE_MS } from "./backups";
import { Reconciler } from "./reconciler";

const PREFIX = "/api/v1/postgres";

/** Services and backup objects, kept in memory; every backup call is counted. */
class ContractBackend {
  readonly services = new Map<string, Record<string, unknown>>();
  readonly objects = new Set<string>();
  readonly puts: string[] = [];
  readonly deletes: string[] = [];
  /** Runs when a backup PUT arrives, before it is answered. */
  /** Runs before a PUT is answered (the test's API write lands while the reconciler waits). */
  onPut: (id: string) => void | Promise<void> = () => {};
  /** A backup that fails when asked for its status. */
  failing = new Set<string>();
  /** A backup whose store settings the backend cannot read: PUT and DELETE answer 400. */
  refusing = new Set<string>();
  private server!: http.Server;
  url = "";

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let raw = "";
      req.on("data", (c: Buffer) => {
        raw += c.toString();
      });
      req.on("end", () => void this.handle(req, raw, res));
    });
    await new Promise<void>((ok) => this.server.listen(0, "127.0.0.1", ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  private async handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://x");
    const path = url.pathname.slice(PREFIX.length);
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const send = (status: number, value?: unknown): true => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(value === undefined ? "" : JSON.stringify(value));
      return true;
    };
    const backup = /^\/backups\/([^/]+)(\/status)?$/.exec(path);
    if (backup) {
      const id = decodeURIComponent(backup[1]!);
      if (this.refusing.has(id) && req.method !== "POST") {
        if (req.method === "DELETE") this.deletes.push(id);
        return send(400, { error: "config.destinationPath: must be s3://BUCKET" });
      }
      if (req.method === "PUT") {
        this.puts.push(id);
        await this.onPut(id);
        this.objects.add(id);
        return send(202);
      }
      if (req.method === "POST" && backup[2]) {
        if (this.failing.has(id)) return send(200, { exists: false, error: "the disk is full" });
        return send(200, { exists: this.objects.has(id) });
      }
      if (req.method === "DELETE") {
        this.deletes.push(id);
        return this.objects.delete(id) ? send(202) : send(404, { title: "not found" });
      }
    }
    if (req.method === "GET" && path === "") {
      const out: Record<string, unknown> = {};
      for (const id of url.searchParams.getAll("id")) {
        const s = this.services.get(id);
        if (s)
          out[id] = { plan: s.plan, config: s.config, details: { ready: true }, pause: s.pause ?? false };
      }
      return send(200, out);
    }
    if (req.method === "POST" && path === "") {
      this.services.set(body.id as string, body);
      return send(202);
    }
    const one = /^\/([^/]+)$/.exec(path);
    if (req.method === "PATCH" && one && this.services.has(decodeURIComponent(one[1]!))) {
      const id = decodeURIComponent(one[1]!);
      this.services.set(id, { ...this.services.get(id), ...body });
      return send(202);
    }
    return send(405, { title: "not here" });
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "landform-backups-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const backend = new ContractBackend();
  await backend.start();
  cleanup.push(() => backend.close());
  const store = await Store.sqlite(dir);
  cleanup.push(() => store.close());
  let offset = 0;
  const now = () => Date.now() + offset;
  const vault = Vault.open(dir);
  const catalog = new Catalog(store, vault, now);
  const postgres = bundledCatalog(backend.url, "key").find((p) => p.name === "postgres")!;
  await catalog.installBundled(postgres);
  const reconciler = new Reconciler({ store, vault, catalog, clock: { now }, random: () => 0 });
  cleanup.push(() => reconciler.stop());

  const record = (id: string, entries: ServiceRecord["backupEntries"] = []): ServiceRecord => ({
    id,
    teamId: 1,
    name: id,
    provider: { name: "postgres", schemaVersion: "v1" },
    plan: { id: 0, parameters: { cpu: 5 } } as schemas.PlanSelection,
    config: { version: "16.6" },
    pause: false,
    backups: { enabled: true, intervalH: 1, nextAt: new Date(now() - 1).toISOString(), config: {} },
    backupEntries: entries,
    createdAt: new Date(now()).toISOString(),
    state: "creating",
    generation: 1,
    observedGeneration: 0,
    sentGeneration: 0,
    secretsVersion: 1,
    sentSecretsVersion: 0,
    backendCreated: false,
    failures: 0,
    nextAttemptAt: now(),
    recentEvents: [],
  });
  const advance = (ms: number) => {
    offset += ms;
    reconciler.queue.tick();
  };
  return { store, backend, reconciler, record, now, advance };
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  step?: () => void,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    step?.();
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("reconciler backups", () => {
  it("records a backup before asking the backend for it, and leaves no orphan when the API wins the race", async () => {
    const { store, backend, reconciler, record } = await setup();
    await store.putService(record("svc"));
    let raced = false;
    const unrecorded: string[] = [];
    backend.onPut = async (backupId) => {
      // Write-ahead: the entry is durable before the backend makes an object.
      if (!(await store.service("svc"))?.backupEntries.some((e) => e.id === backupId))
        unrecorded.push(backupId);
      if (raced) return;
      raced = true;
      // The API changes the service while the backup is being started (the step's save now loses).
      const current = (await store.service("svc"))!;
      current.config = { version: "16.6", changed: true };
      current.generation += 1;
      await store.putService(current);
    };
    await reconciler.start();
    const confirmed = async () =>
      ((await store.service("svc"))?.backupEntries ?? []).filter((e) => e.confirmedAt).map((e) => e.id);
    await until("the first backup to be confirmed", async () => (await confirmed()).length >= 1);
    expect(raced).toBe(true);
    expect(unrecorded).toEqual([]);
    // Every object the backend holds belongs to an entry of the record: none orphaned.
    const known = new Set((await store.service("svc"))!.backupEntries.map((e) => e.id));
    expect([...backend.objects].filter((id) => !known.has(id))).toEqual([]);
    // One backup, started (at most re-sent under the same id) and confirmed once.
    expect(new Set(backend.puts).size).toBe(1);
    expect((await store.service("svc"))!.backupEntries).toHaveLength(1);
    const names = (await store.events("svc", 0, 100)).map((e) => e.event.eventName);
    expect(names.filter((n) => n === "BackupConfirmed")).toHaveLength(1);
  });

  it.each([
    ["its upload fails", "failing", "the disk is full"],
    // The DELETE's 400 then says nothing was ever written with those settings: the entry goes anyway.
    [
      "the backend refuses to start it",
      "refusing",
      "backend answered 400 to PUT: config.destinationPath: must be s3://BUCKET",
    ],
  ] as const)(
    `gives up a backup after ${MAX_FAILURES} failures when %s, deleting what the backend may hold`,
    async (_why, mode, last) => {
      const { store, backend, reconciler, record, advance } = await setup();
      const id = "11111111-1111-4111-8111-111111111111";
      const r = record("svc", [{ id, scheduledAt: new Date().toISOString(), reason: "manual" }]);
      r.backups = { enabled: true, config: {} }; // no schedule: only the requested backup
      await store.putService(r);
      backend[mode].add(id);
      await reconciler.start();
      await until(
        "the failing backup to be given up",
        async () => !(await store.service("svc"))!.backupEntries.some((e) => e.id === id),
        () => advance(5_000),
      );
      expect(backend.deletes).toContain(id);
      expect(backend.objects.has(id)).toBe(false);
      const abandoned = (await store.events("svc", 0, 500)).filter(
        (e) => e.event.eventName === "BackupAbandoned",
      );
      expect(abandoned).toHaveLength(1);
      expect(abandoned[0]!.event.body).toMatch(`failed ${MAX_FAILURES} times (last: ${last})`);
      expect(abandoned[0]!.event.severityNumber).toBe(13);
    },
  );

  it("bounds waiting backups: the oldest beyond the cap and any too old are dropped", async () => {
    const { store, backend, reconciler, record, now } = await setup();
    const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
    const entries: ServiceRecord["backupEntries"] = [
      // Started long ago and never confirmed: its object may exist, so it is deleted.
      {
        id: uuid(99),
        scheduledAt: new Date(now() - 60_000).toISOString(),
        queuedAt: new Date(now() - UNCONFIRMED_MAX_AGE_MS - 60_000).toISOString(),
        initiatedAt: new Date(now() - UNCONFIRMED_MAX_AGE_MS).toISOString(),
        reason: "manual",
      },
    ];
    const waiting = MAX_UNCONFIRMED + 3;
    for (let i = 0; i < waiting; i++) {
      entries.push({
        id: uuid(i),
        scheduledAt: new Date(now() - 60_000 + i).toISOString(),
        reason: "manual",
      });
    }
    backend.objects.add(uuid(99));
    const r = record("svc", entries);
    r.backups = { enabled: true, config: {} };
    await store.putService(r);
    await reconciler.start();
    await until("the remaining backups to be confirmed", async () => {
      const e = (await store.service("svc"))!.backupEntries;
      return e.length === MAX_UNCONFIRMED && e.every((x) => x.confirmedAt);
    });
    const left = (await store.service("svc"))!.backupEntries.map((e) => e.id);
    expect(left).toEqual(Array.from({ length: MAX_UNCONFIRMED }, (_, i) => uuid(i + 3)));
    // The three oldest were never sent to the backend: nothing to delete there.
    for (const i of [0, 1, 2]) expect([...backend.puts, ...backend.deletes]).not.toContain(uuid(i));
    expect(backend.deletes).toEqual([uuid(99)]);
    expect(backend.objects.has(uuid(99))).toBe(false);
    const abandoned = (await store.events("svc", 0, 500)).filter(
      (e) => e.event.eventName === "BackupAbandoned",
    );
    expect(abandoned.map((e) => e.event.attributes.backupId).sort()).toEqual(
      [uuid(0), uuid(1), uuid(2), uuid(99)].sort(),
    );
  });
});
