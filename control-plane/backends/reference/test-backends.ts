/**
 * Test helper: the reference backends on a temp dir and a test clock, with
 * the calls the suites of ./reference*.test.ts make and the secrets they
 * watch for. Not part of the backends (excluded from the build). Every
 * answer and log line is kept in `seen`, so each suite can end by checking
 * that no secret leaked.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { type ReferenceBackendOptions, type ReferenceBackends, startReferenceBackends } from "./index";

export const KEY = "test-backend-key";
export const USER_PASSWORD = "user-pw-Zq81x";
export const SUPERUSER_PASSWORD = "super-pw-Kd02y";
export const REDIS_PASSWORD = "redis-pw-Mm47u";
export const STORE_SECRET = "store-secret-Vx03y";
const SECRETS = [
  USER_PASSWORD,
  SUPERUSER_PASSWORD,
  REDIS_PASSWORD,
  "guide-pw-Ah55e",
  "new-pw-Pp19r",
  STORE_SECRET,
];

const dirs: string[] = [];
/** Every answer and log line of every test, to check that no secret leaks. */
const seen: string[] = [];

export let dir: string;
export let backends: ReferenceBackends;
export let clock: number;

export async function start(extra: Partial<ReferenceBackendOptions> = {}): Promise<ReferenceBackends> {
  backends = await startReferenceBackends({
    dataDir: dir,
    // The simulated lifecycle and data set; the real servers are covered by test/engines.*.test.ts.
    engines: false,
    key: KEY,
    operationDelayMs: 20,
    now: () => clock,
    log: (rec) => seen.push(JSON.stringify(rec)),
    ...extra,
  });
  return backends;
}

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are inspected freely
  body: any;
}

export async function call(
  method: string,
  url: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<Reply> {
  const res = await fetch(`${backends.url}${url}`, {
    method,
    headers: { "x-api-key": KEY, "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  seen.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export const PG = "/api/v1/postgres";

export function postgresBody(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    teamId: 7,
    plan: { id: 0, parameters: { storage: 1024 } },
    config: { userName: "shop", databaseName: "orders" },
    secrets: { userPassword: USER_PASSWORD, superuserPassword: SUPERUSER_PASSWORD },
    ...extra,
  };
}

export async function createPostgres(extra: Record<string, unknown> = {}): Promise<string> {
  const id = randomUUID();
  expect((await call("POST", PG, postgresBody(id, extra))).status).toBe(201);
  return id;
}

export async function observe(id: string, base = PG) {
  const reply = await call("GET", `${base}?id=${id}`);
  expect(reply.status).toBe(200);
  return reply.body[id];
}

export function advance(ms = 20): void {
  clock += ms;
}

/** Polls `probe` (real time: background work does not follow the test clock) until it returns a value. */
export async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A loopback port nothing listens on, found once: a backup store that refuses connections. */
let closedPort = 0;
export function unreachableStore() {
  return {
    config: {
      endpointUrl: `http://127.0.0.1:${closedPort}`,
      destinationPath: "s3://landform-backups/prefix",
      accessKeyId: "access-id",
    },
    secrets: { secretKey: STORE_SECRET },
  };
}

/** Registers the hooks of a suite: a fresh data dir and clock per test, closed backends after it. */
export function useReferenceBackends(): void {
  beforeAll(async () => {
    closedPort = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
  });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-reference-"));
    dirs.push(dir);
    clock = 1_700_000_000_000;
  });

  afterEach(async () => {
    await backends?.close();
  });

  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
}

/** The last test of a suite: no secret in any answer or log line it saw (at least `minimum` of them). */
export function expectNoSecretSeen(minimum: number): void {
  expect(seen.length).toBeGreaterThan(minimum);
  for (const text of seen) {
    for (const secret of [...SECRETS, KEY]) expect(text).not.toContain(secret);
  }
}
