/**
 * Several `landform serve` replicas on one PostgreSQL (issue 11).
 *
 * Two and then three replicas share a database (test/support/postgres.ts)
 * and a vault key; the services run on a separate `landform backend` that is
 * never killed, registered as a provider through the API, so its log counts
 * every create it performed. Each round sends 200 concurrent requests
 * (create, update, pause, delete mixed) to random replicas and kills one
 * replica with SIGKILL at a random moment; the killed replica comes back
 * after the round. After each round every request that got a 2xx answer is
 * there (read through another replica); at the end everything converges
 * and the backend created every service exactly once, although dead
 * replicas' leases were taken over by the others.
 *
 * Also read-your-writes across replicas: a create through A is read through
 * B at once, and an update through B is seen by A at once.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExternalBackend } from "./support/external-backend";
import { startPostgres, type TestPostgres } from "./support/postgres";
import { CLI, ServedControlPlane } from "./support/serve";

const TOKEN = "replica-token";
const BACKEND_KEY = `replica-backend-key-${process.pid}`;
const VAULT_KEY = randomBytes(32).toString("base64");
const ROUNDS = 4;
const OPS_PER_ROUND = 200;
/** Short leases, so a killed replica's work is taken over within the test's patience. */
const LEASE_TTL_MS = 2_000;
const SEED = Number(process.env.LANDFORM_REPLICAS_SEED ?? Date.now() % 1_000_000);

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
const random = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

interface Answer {
  status?: number;
  body?: Record<string, unknown>;
}
async function call(cp: ServedControlPlane, method: string, path: string, body?: unknown): Promise<Answer> {
  try {
    const res = await fetch(`${cp.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, ...(text ? { body: JSON.parse(text) as Record<string, unknown> } : {}) };
  } catch {
    return {}; // cut off: the replica died under it
  }
}
const accepted = (a: Answer) => a.status !== undefined && a.status >= 200 && a.status < 300;
const unanswered = (a: Answer) => a.status === undefined || a.status >= 500;

interface View {
  id: string;
  name: string;
  pause: boolean;
  config: { max_connections?: string };
  status: { state: string };
}
interface Expected {
  id?: string;
  name: string;
  exists: boolean | "maybe";
  deleted: boolean | "maybe";
  maxConnections: Set<string>;
  pause: Set<boolean>;
}

let server: TestPostgres;
beforeAll(async () => {
  // The suite counts operations, not engine behaviour; the bundled backends of each replica stay light.
  process.env.LANDFORM_ENGINES = "simulated";
  server = await startPostgres();
  process.stderr.write(`replicas suite seed: ${SEED} (LANDFORM_REPLICAS_SEED=${SEED} replays it)\n`);
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

/** A cluster: one database, one external backend, `count` replicas, the provider registered. */
async function cluster(count: number) {
  const url = await server.createDatabase();
  // Operations that take a while, so every kill -9 finds services in flight (leased) to take over:
  // the create step converges in place (decision 017), and 10 ms operations were often all done.
  const backend = new ExternalBackend(BACKEND_KEY, 300);
  await backend.start();
  const replicas: ServedControlPlane[] = [];
  for (let i = 0; i < count; i++) {
    replicas.push(
      await ServedControlPlane.start({
        tokens: [`${TOKEN}=1`],
        operationDelayMs: 10,
        extraArgs: [
          "--database",
          url,
          "--replica-id",
          `replica-${count}-${i}`,
          "--vault-key",
          VAULT_KEY,
          "--lease-ttl-ms",
          String(LEASE_TTL_MS),
        ],
      }),
    );
  }
  const catalog = (await call(replicas[0]!, "GET", "/managed-services/providers")).body as unknown as Record<
    string,
    unknown
  >[];
  const pg = catalog.find((p) => p.name === "postgresql" && p.schemaVersion === "v15")!;
  const { backend: _b, scope: _s, version: _v, schemaVersion: _sv, ...definition } = pg;
  const registered = await call(replicas[0]!, "POST", "/managed-services/providers", {
    ...definition,
    name: "replica-pg",
    version: "v1",
    scope: { type: "team", teamIds: [1] },
    backend: { api: { endpoint: `${backend.url}/api/v1/postgresql`, secret: BACKEND_KEY } },
  });
  expect(registered.status, JSON.stringify(registered.body)).toBeLessThan(300);
  const close = async () => {
    for (const r of replicas) await r.close();
    await backend.close();
  };
  return { replicas, backend, close };
}

function createRequest(name: string) {
  return {
    teamId: 1,
    name,
    provider: { name: "replica-pg", version: "v1" },
    plan: { id: 1, parameters: { storage: 10 } },
    config: { max_connections: "100" },
    secrets: { username: "app_user", password: "pw-replica-Zt41" },
  };
}

async function listAll(cp: ServedControlPlane): Promise<View[]> {
  const a = await call(cp, "GET", "/managed-services?team=1&includeDeleted=true");
  expect(a.status).toBe(200);
  return a.body as unknown as View[];
}

/** Sum of `landform_leases_taken_over_total` over the replicas that answer. */
async function takenOver(replicas: ServedControlPlane[]): Promise<number> {
  let sum = 0;
  for (const r of replicas) {
    try {
      const text = await (await fetch(`${r.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      for (const m of text.matchAll(/^landform_leases_taken_over_total\{[^}]*\} ([0-9]+)$/gm))
        sum += Number(m[1]);
    } catch {
      // a dead replica has no metrics
    }
  }
  return sum;
}

async function scenario(count: number) {
  const { replicas, backend, close } = await cluster(count);
  const model = new Map<string, Expected>();
  let serial = 0;
  let takeovers = 0;
  try {
    const planRound = (round: number) => {
      const live = [...model.values()].filter((e) => e.id && e.exists === true && e.deleted === false);
      for (let i = live.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [live[i], live[j]] = [live[j]!, live[i]!];
      }
      const ops: (() => Promise<void>)[] = [];
      for (const e of live.slice(0, Math.floor(OPS_PER_ROUND * 0.6))) {
        const via = pick(replicas);
        const kind = random();
        if (kind < 0.4) {
          const value = String(1000 + serial++);
          ops.push(async () => {
            const a = await call(via, "PATCH", `/managed-services/${e.id}`, {
              config: { max_connections: value },
            });
            if (accepted(a)) e.maxConnections = new Set([value]);
            else if (unanswered(a)) e.maxConnections.add(value);
          });
        } else if (kind < 0.75) {
          const pause = !e.pause.has(true);
          ops.push(async () => {
            const a = await call(via, "PATCH", `/managed-services/${e.id}`, { pause });
            if (accepted(a)) e.pause = new Set([pause]);
            else if (unanswered(a)) e.pause.add(pause);
          });
        } else {
          ops.push(async () => {
            const a = await call(via, "DELETE", `/managed-services/${e.id}`);
            if (accepted(a)) e.deleted = true;
            else if (unanswered(a)) e.deleted = "maybe";
          });
        }
      }
      for (let i = ops.length; i < OPS_PER_ROUND; i++) {
        const e: Expected = {
          name: `rep${count}-r${round}-${i}`,
          exists: "maybe",
          deleted: false,
          maxConnections: new Set(["100"]),
          pause: new Set([false]),
        };
        model.set(e.name, e);
        const via = pick(replicas);
        ops.push(async () => {
          const a = await call(via, "POST", "/managed-services", createRequest(e.name));
          if (accepted(a)) {
            e.exists = true;
            e.id = a.body!.id as string;
          } else if (!unanswered(a)) e.exists = false;
        });
      }
      return ops;
    };

    const checkAgainstModel = async (via: ServedControlPlane) => {
      const byName = new Map<string, View[]>();
      for (const v of await listAll(via)) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
      for (const [name, views] of byName) expect(views, `services named ${name}`).toHaveLength(1);
      for (const e of model.values()) {
        const v = byName.get(e.name)?.[0];
        if (e.exists === true && e.deleted === false) expect(v, `accepted create of ${e.name}`).toBeDefined();
        if (e.exists === false) expect(v, `refused create of ${e.name}`).toBeUndefined();
        if (!v) {
          if (e.exists === "maybe") e.exists = false;
          if (e.deleted === "maybe") e.deleted = true;
          continue;
        }
        if (e.id) expect(v.id).toBe(e.id);
        e.exists = true;
        e.id = v.id;
        const deleting = v.status.state === "deleting" || v.status.state === "deleted";
        if (e.deleted === true)
          expect(deleting, `accepted delete of ${e.name} (${v.status.state})`).toBe(true);
        if (e.deleted === "maybe") e.deleted = deleting;
        if (e.deleted === false) expect(deleting, `${e.name} was never deleted`).toBe(false);
        if (e.deleted) continue;
        expect([...e.maxConnections], `max_connections of ${e.name}`).toContain(v.config.max_connections);
        expect([...e.pause], `pause of ${e.name}`).toContain(v.pause);
        e.maxConnections = new Set([v.config.max_connections!]);
        e.pause = new Set([v.pause]);
      }
    };

    for (let round = 1; round <= ROUNDS; round++) {
      const running = Promise.all(planRound(round).map((op) => op()));
      await new Promise((r) => setTimeout(r, 50 + Math.floor(random() * 1_500)));
      const victim = pick(replicas);
      const survivors = replicas.filter((r) => r !== victim);
      await victim.stop("SIGKILL");
      await running;
      // Another replica reads everything accepted, while the victim is still down.
      await checkAgainstModel(pick(survivors));
      // The survivors take the victim's leases over once they expire.
      await new Promise((r) => setTimeout(r, LEASE_TTL_MS + 1_500));
      takeovers = Math.max(takeovers, await takenOver(survivors));
      await victim.launch();
    }

    const deadline = Date.now() + 180_000;
    for (;;) {
      const pending = (await listAll(pick(replicas))).filter((v) => {
        const e = model.get(v.name)!;
        if (e.deleted) return v.status.state !== "deleted";
        return v.status.state !== (v.pause ? "paused" : "synchronized");
      });
      if (pending.length === 0) break;
      if (Date.now() > deadline) {
        const sample = pending.slice(0, 5).map((v) => `${v.name} ${v.status.state}`);
        throw new Error(`not converged: ${sample.join(", ")} (${pending.length} in all)`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const r of replicas) await checkAgainstModel(r);

    const live = [...model.values()]
      .filter((e) => e.exists === true && e.deleted === false)
      .map((e) => e.id!);
    expect((await backend.list()).sort()).toEqual([...live].sort());
    const creates = backend.creates();
    expect([...creates].filter(([, n]) => n > 1)).toEqual([]);
    for (const id of live) expect(creates.get(id), `creates of ${id}`).toBe(1);
    const calls = backend.createCalls();
    expect(calls.map((l) => l.status).filter((s) => s !== 201 && s !== 202)).toEqual([]);
    expect(calls).toHaveLength([...creates.values()].reduce((a, b) => a + b, 0));
    expect(live.length).toBeGreaterThan(OPS_PER_ROUND / 4);
    return { takeovers, services: model.size, live: live.length };
  } finally {
    await close();
  }
}

describe("replicas of landform serve on one PostgreSQL", () => {
  it("refuses a --replica-id that could not label a metric or log line, naming the flag and the rule", () => {
    const r = spawnSync(process.execPath, [CLI, "serve", "--port", "0", "--replica-id", 'pod "7"'], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "--replica-id (LANDFORM_REPLICA_ID): may hold only letters, digits and . _ : @ -",
    );
  });

  for (const count of [2, 3]) {
    it(`${count} replicas: ${ROUNDS} kill -9s during ${OPS_PER_ROUND} concurrent requests lose and double nothing`, async () => {
      const r = await scenario(count);
      process.stderr.write(
        `${count} replicas: ${r.services} services, ${r.live} live, ${r.takeovers} leases taken over\n`,
      );
      expect(r.takeovers).toBeGreaterThan(0);
    }, 600_000);
  }

  it("reads its writes across replicas: create through A read through B at once, update through B seen by A", async () => {
    const { replicas, close } = await cluster(2);
    try {
      const [a, b] = replicas as [ServedControlPlane, ServedControlPlane];
      for (let i = 0; i < 20; i++) {
        const created = await call(a, "POST", "/managed-services", createRequest(`ryw-${i}`));
        expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
        const id = created.body!.id as string;
        const readB = await call(b, "GET", `/managed-services/${id}`);
        expect(readB.status).toBe(200);
        expect(readB.body).toMatchObject({ id, name: `ryw-${i}`, config: { max_connections: "100" } });
        const patched = await call(b, "PATCH", `/managed-services/${id}`, {
          config: { max_connections: `${200 + i}` },
        });
        expect(patched.status).toBeLessThan(300);
        const readA = await call(a, "GET", `/managed-services/${id}`);
        expect(readA.body).toMatchObject({ id, config: { max_connections: `${200 + i}` } });
        const listed = (await listAll(a)).find((v) => v.id === id);
        expect(listed?.config.max_connections).toBe(`${200 + i}`);
      }
      // Each replica names itself in the lease series of /metrics.
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      expect(metrics).toMatch(/^landform_leases_held\{replica="replica-2-1",kind="service"\} [0-9]+$/m);
      expect(metrics).toMatch(/^landform_leases_taken_over_total\{replica="replica-2-1"\} 0$/m);
    } finally {
      await close();
    }
  });
});
