/**
 * A crash or a retry never loses or doubles anything.
 *
 * `landform serve` is killed with SIGKILL at a random moment while 200
 * concurrent lifecycle requests (create, update, pause, backup, delete) are
 * in flight, five times over. After each kill: the SQLite file passes
 * `PRAGMA integrity_check`; after each restart every request that got a 2xx
 * answer is there (its change or a later one is the desired state; deletes
 * stay deleted) and every request whose answer was cut off either happened
 * or did not, never half. After the last restart everything converges.
 *
 * What is counted for "nothing doubled": the services run on `landform
 * backend`, a separate process that outlives every kill, behind a provider
 * registered through the API. Its log has one "service created" line per
 * create it performed and one "request" line per call (method, path,
 * status): every create POST it received must have created a service (no
 * 409 for an id it already held), and no id may be created twice.
 *
 * Also: a second `landform serve` (and a `landform backend`) on the same data
 * dir is refused while the first runs, naming the dir and the holder's pid.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqlite } from "../control-plane/store/sqlite-open";
import { ExternalBackend } from "./support/external-backend";
import { type S3Server, startS3Server } from "./support/s3";
import { CLI, ServedControlPlane } from "./support/serve";

const TOKEN = "crash-token";
const BACKEND_KEY = `crash-backend-key-${process.pid}`;
const BUCKET = "crash-backups";
const ROUNDS = 5;
const OPS_PER_ROUND = 200;
const SEED = Number(process.env.LANDFORM_CRASH_SEED ?? Date.now() % 1_000_000);

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
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

// ---------------------------------------------------------------- API calls

interface Answer {
  /** undefined: no answer (the connection died with the server). */
  status?: number;
  body?: Record<string, unknown>;
}

/** Answers per status ("none": cut off), for the round's summary line. */
const tally = new Map<string, number>();
async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const a = await send(method, path, body);
  const key = `${method} ${a.status ?? "none"}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
  return a;
}
async function send(method: string, path: string, body?: unknown): Promise<Answer> {
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
    return {};
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
  backups: { enabled: boolean; entries?: { id: string; confirmedAt?: string }[] };
}

async function listAll(): Promise<View[]> {
  const a = await call("GET", "/managed-services?team=1&includeDeleted=true");
  expect(a.status).toBe(200);
  return a.body as unknown as View[];
}

// ---------------------------------------------------------------- the model

/** What each service may look like, given the answers the clients got. */
interface Expected {
  id?: string;
  name: string;
  /** Whether it exists: "maybe" after a create whose answer was cut off. */
  exists: boolean | "maybe";
  deleted: boolean | "maybe";
  maxConnections: Set<string>;
  pause: Set<boolean>;
  /** Backups whose request got a 2xx: they must be recorded. */
  backups: Set<string>;
}

const model = new Map<string, Expected>(); // by name
let created = 0;
let s3: S3Server;
let backend: ExternalBackend;
let cp: ServedControlPlane;
let dataDir: string;

function createRequest(name: string) {
  return {
    teamId: 1,
    name,
    provider: { name: "crash-pg", version: "v1" },
    plan: { id: 1, parameters: { storage: 10 } },
    config: { max_connections: "100" },
    secrets: { username: "app_user", password: "pw-crash-Kq93" },
    backups: {
      enabled: true,
      intervalH: 24,
      deleteRetentionDays: 7,
      config: { endpointUrl: s3.endpoint, destinationPath: `s3://${BUCKET}/crash` },
      secrets: { accessKey: s3.accessKey, secretKey: s3.secretKey },
    },
  };
}

/** One round's operations, each on a different service, as thunks. */
function planRound(round: number): (() => Promise<void>)[] {
  const live = [...model.values()].filter((e) => e.id && e.exists === true && e.deleted === false);
  // Shuffle, then give each service at most one operation this round.
  for (let i = live.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [live[i], live[j]] = [live[j]!, live[i]!];
  }
  const ops: (() => Promise<void>)[] = [];
  const others = Math.min(live.length, Math.floor(OPS_PER_ROUND * 0.6));
  for (const e of live.slice(0, others)) {
    const kind = random();
    if (kind < 0.35) {
      const value = String(1000 + created++);
      ops.push(async () => {
        const a = await call("PATCH", `/managed-services/${e.id}`, { config: { max_connections: value } });
        if (accepted(a)) e.maxConnections = new Set([value]);
        else if (unanswered(a)) e.maxConnections.add(value);
      });
    } else if (kind < 0.6) {
      const pause = !e.pause.has(true);
      ops.push(async () => {
        const a = await call("PATCH", `/managed-services/${e.id}`, { pause });
        if (accepted(a)) e.pause = new Set([pause]);
        else if (unanswered(a)) e.pause.add(pause);
      });
    } else if (kind < 0.8) {
      ops.push(async () => {
        const a = await call("POST", `/managed-services/${e.id}/backups`);
        if (accepted(a)) e.backups.add(a.body!.id as string);
      });
    } else {
      ops.push(async () => {
        const a = await call("DELETE", `/managed-services/${e.id}`);
        if (accepted(a)) e.deleted = true;
        else if (unanswered(a)) e.deleted = "maybe";
      });
    }
  }
  for (let i = ops.length; i < OPS_PER_ROUND; i++) {
    const name = `crash-r${round}-${i}`;
    const e: Expected = {
      name,
      exists: "maybe",
      deleted: false,
      maxConnections: new Set(["100"]),
      pause: new Set([false]),
      backups: new Set(),
    };
    model.set(name, e);
    ops.push(async () => {
      const a = await call("POST", "/managed-services", createRequest(name));
      if (accepted(a)) {
        e.exists = true;
        e.id = a.body!.id as string;
      } else if (!unanswered(a)) {
        e.exists = false;
      }
    });
  }
  return ops;
}

/** Checks the control plane against the model and resolves what was uncertain. */
async function checkAgainstModel(): Promise<void> {
  const byName = new Map<string, View[]>();
  for (const v of await listAll()) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
  for (const [name, views] of byName) expect(views, `services named ${name}`).toHaveLength(1);
  for (const e of model.values()) {
    const v = byName.get(e.name)?.[0];
    if (e.exists === true) {
      // Purged deleted records may be gone; anything accepted and not deleted must be there.
      if (e.deleted === false) expect(v, `accepted create of ${e.name}`).toBeDefined();
      if (v) expect(v.id).toBe(e.id);
    }
    if (e.exists === false) expect(v, `refused create of ${e.name}`).toBeUndefined();
    if (!v) {
      if (e.exists === "maybe") e.exists = false;
      if (e.deleted === "maybe") e.deleted = true;
      continue;
    }
    e.exists = true;
    e.id = v.id;
    const deleting = v.status.state === "deleting" || v.status.state === "deleted";
    if (e.deleted === true) expect(deleting, `accepted delete of ${e.name} (${v.status.state})`).toBe(true);
    if (e.deleted === "maybe") e.deleted = deleting;
    if (e.deleted === false) expect(deleting, `${e.name} was never deleted`).toBe(false);
    if (e.deleted) continue;
    expect([...e.maxConnections], `max_connections of ${e.name}`).toContain(v.config.max_connections);
    expect([...e.pause], `pause of ${e.name}`).toContain(v.pause);
    e.maxConnections = new Set([v.config.max_connections!]);
    e.pause = new Set([v.pause]);
    const recorded = new Set((v.backups.entries ?? []).map((b) => b.id));
    for (const b of e.backups) expect(recorded.has(b), `accepted backup ${b} of ${e.name}`).toBe(true);
  }
}

function integrityCheck(): string {
  const db = openSqlite(join(dataDir, "control-plane.sqlite"));
  try {
    return db.pragma("integrity_check", { simple: true }) as string;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- setup

beforeAll(async () => {
  // The suite counts operations, not engine behaviour (test/engines.*.test.ts cover real servers);
  // hundreds of real PostgreSQL servers would not fit the machine.
  process.env.LANDFORM_ENGINES = "simulated";
  s3 = await startS3Server();
  await s3.bucket(BUCKET);
  backend = new ExternalBackend(BACKEND_KEY);
  await backend.start();
  dataDir = mkdtempSync(join(tmpdir(), "landform-crash-cp-"));
  cp = await ServedControlPlane.start({ dataDir, tokens: [`${TOKEN}=1`], operationDelayMs: 10 });
  // The provider: postgresql's definition, served by the external backend, for team 1.
  const catalog = (await call("GET", "/managed-services/providers")).body as unknown as Record<
    string,
    unknown
  >[];
  const pg = catalog.find((p) => p.name === "postgresql" && p.schemaVersion === "v15")!;
  const { backend: _b, scope: _s, version: _v, schemaVersion: _sv, ...definition } = pg;
  const registered = await call("POST", "/managed-services/providers", {
    ...definition,
    name: "crash-pg",
    version: "v1",
    scope: { type: "team", teamIds: [1] },
    backend: { api: { endpoint: `${backend.url}/api/v1/postgresql`, secret: BACKEND_KEY } },
  });
  expect(registered.status, JSON.stringify(registered.body)).toBeLessThan(300);
  process.stderr.write(`crash suite seed: ${SEED} (LANDFORM_CRASH_SEED=${SEED} replays it)\n`);
}, 600_000);

afterAll(async () => {
  await cp?.close();
  await backend?.close();
  await s3?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the suite

describe("crash safety of landform serve", () => {
  it("refuses a second process on the data dir while the first runs", () => {
    for (const command of ["serve", "backend"]) {
      const started = Date.now();
      const second = spawnSync(process.execPath, [CLI, command, "--port", "0", "--data-dir", dataDir], {
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(second.status, `${command}: ${second.stderr}`).toBe(1);
      expect(second.stderr).toContain(`the data dir ${dataDir} is in use by another landform process (pid `);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  });

  it(`loses and doubles nothing across ${ROUNDS} kill -9s during ${OPS_PER_ROUND} concurrent operations`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const ops = planRound(round);
      const running = Promise.all(ops.map((op) => op()));
      // Somewhere while the requests and the reconciler's work are in flight.
      await new Promise((r) => setTimeout(r, 50 + Math.floor(random() * 1_500)));
      await cp.stop("SIGKILL");
      await running;
      process.stderr.write(`round ${round}: ${[...tally].map(([k, n]) => `${k}: ${n}`).join(", ")}\n`);
      tally.clear();
      expect(integrityCheck(), `integrity after kill ${round}`).toBe("ok");
      await cp.launch();
      await checkAgainstModel();
    }

    // Everything converges after the last restart.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const views = await listAll();
      const pending = views.filter((v) => {
        const e = model.get(v.name)!;
        if (e.deleted) return v.status.state !== "deleted";
        const target = v.pause ? "paused" : "synchronized";
        const waiting = (v.backups.entries ?? []).some((b) => !b.confirmedAt);
        return v.status.state !== target || (!v.pause && waiting);
      });
      if (pending.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(
          `not converged: ${pending
            .slice(0, 5)
            .map((v) => `${v.name} ${v.status.state}`)
            .join(", ")} (${pending.length} in all)`,
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    await checkAgainstModel();

    // The backend holds exactly the live services, each created once.
    const live = [...model.values()]
      .filter((e) => e.exists === true && e.deleted === false)
      .map((e) => e.id!);
    expect((await backend.list()).sort()).toEqual([...live].sort());
    const creates = new Map<string, number>();
    for (const l of backend.lines) {
      if (l.msg === "service created") creates.set(l.id as string, (creates.get(l.id as string) ?? 0) + 1);
    }
    const doubled = [...creates].filter(([, n]) => n > 1);
    expect(doubled).toEqual([]);
    for (const id of live) expect(creates.get(id), `creates of ${id}`).toBe(1);
    const createCalls = backend.lines.filter(
      (l) => l.msg === "request" && l.method === "POST" && l.path === "/api/v1/postgresql",
    );
    expect(createCalls.map((l) => l.status).filter((s) => s !== 201 && s !== 202)).toEqual([]);
    expect(createCalls).toHaveLength([...creates.values()].reduce((a, b) => a + b, 0));
    expect(live.length).toBeGreaterThan(OPS_PER_ROUND / 4);

    // No orphaned backup object: every object in the store is a backup some record knows.
    const known = new Set((await listAll()).flatMap((v) => (v.backups.entries ?? []).map((b) => b.id)));
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3
        .client()
        .send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "crash/", ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    const ids = keys.map((k) => /([0-9a-f-]{36})\.json$/.exec(k)?.[1] ?? k);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.filter((id) => !known.has(id))).toEqual([]);
  });

  it("starts on the data dir again after its holder was killed with SIGKILL", async () => {
    await cp.stop("SIGKILL");
    expect(integrityCheck()).toBe("ok");
    await cp.launch();
    expect((await call("GET", "/managed-services?team=1")).status).toBe(200);
  });
});
