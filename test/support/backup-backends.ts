/**
 * The reference backends against a real S3-compatible server (versitygw,
 * built from the Go module proxy and started on a free port with its own data
 * folder), driven over HTTP as a control plane drives them, on a clock the
 * tests move: the harness of test/backups.backend*.test.ts. Every answer, log
 * line and backup object read is kept, so each suite can end by checking that
 * no secret leaked.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect } from "vitest";
import {
  type ReferenceBackendOptions,
  type ReferenceBackends,
  startReferenceBackends,
} from "../../control-plane/backends/reference/index";
import { type S3Server, startS3Server } from "./s3";

export const KEY = "backend-key-Qx81-lantern";
export const USER_PASSWORD = "user-pw-Hk27-orchard";
export const SUPERUSER_PASSWORD = "super-pw-Lm64-quarry";
export const PG = "/api/v1/postgres";
export const TEAM = 7;
export const PREFIX = "landform/backups";
export const T0 = 1_800_000_000_000;

export let s3: S3Server;
export let s3Client: S3Client;
export let bucket: string;
export let backends: ReferenceBackends;
export let clock = T0;
const dirs: string[] = [];
/** Every answer and log line, to check that no secret leaks. */
const seen: string[] = [];
const others: ReferenceBackends[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-backups-"));
  dirs.push(dir);
  return dir;
}

function startBackends(extra: Partial<ReferenceBackendOptions> = {}): Promise<ReferenceBackends> {
  return startReferenceBackends({
    // The simulated lifecycle and data set; the real servers are covered by test/engines.*.test.ts.
    engines: false,
    dataDir: tempDir(),
    key: KEY,
    operationDelayMs: 0,
    now: () => clock,
    log: (rec) => seen.push(JSON.stringify(rec)),
    ...extra,
  });
}

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are inspected freely
  body: any;
}

export async function call(method: string, url: string, body?: unknown, on = backends): Promise<Reply> {
  const res = await fetch(`${on.url}${url}`, {
    method,
    headers: { "x-api-key": KEY, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  seen.push(text);
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export interface StoreBody {
  config: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

/** The postgres backup store settings: config {endpointUrl, destinationPath, accessKeyId}, secrets {secretKey}. */
export function store(overrides: Partial<StoreBody> = {}): StoreBody {
  return {
    config: {
      endpointUrl: s3.endpoint,
      destinationPath: `s3://${bucket}/${PREFIX}/`,
      accessKeyId: s3.accessKey,
      ...overrides.config,
    },
    secrets: { secretKey: s3.secretKey, ...overrides.secrets },
  };
}

export function backupBody(msId: string, settings: StoreBody = store()) {
  return { msId, teamId: TEAM, ...settings, retentionDays: 7 };
}

export function objectKey(msId: string, backupId: string): string {
  return `${PREFIX}/${TEAM}/${msId}/${backupId}.json`;
}

export async function createPostgres(extra: Record<string, unknown> = {}, on = backends): Promise<string> {
  const id = randomUUID();
  const reply = await call(
    "POST",
    PG,
    {
      id,
      teamId: TEAM,
      plan: { id: 0, parameters: { storage: 1024 } },
      config: { userName: "shop", databaseName: "orders" },
      secrets: { userPassword: USER_PASSWORD, superuserPassword: SUPERUSER_PASSWORD },
      ...extra,
    },
    on,
  );
  expect(reply.status).toBe(201);
  return id;
}

export async function observe(id: string, base = PG, on = backends) {
  const reply = await call("GET", `${base}?id=${id}`, undefined, on);
  expect(reply.status).toBe(200);
  return reply.body[id];
}

/** Polls until the service is ready or reports an error. */
export async function settled(id: string, base = PG, on = backends) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await observe(id, base, on);
    if (s.details.ready || s.error || Date.now() > deadline) return s;
    await sleep(25);
  }
}

export async function write(id: string, key: string, value: unknown, at: number): Promise<void> {
  clock = at;
  expect((await call("PUT", `${PG}/${id}/data/${key}`, { value })).status).toBe(204);
}

export async function erase(id: string, key: string, at: number): Promise<void> {
  clock = at;
  expect((await call("DELETE", `${PG}/${id}/data/${key}`)).status).toBe(204);
}

export async function data(id: string, base = PG, on = backends) {
  const reply = await call("GET", `${base}/${id}/data`, undefined, on);
  expect(reply.status).toBe(200);
  return reply.body;
}

/** Polls the backup's status until it exists or reports an error. */
export async function status(base: string, backupId: string, body: unknown, on = backends) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const reply = await call("POST", `${base}/backups/${backupId}/status`, body, on);
    expect(reply.status).toBe(200);
    if (reply.body.exists || reply.body.error || Date.now() > deadline) return reply.body;
    await sleep(25);
  }
}

export async function backup(
  msId: string,
  at: number,
  base = PG,
  settings: StoreBody = store(),
): Promise<string> {
  clock = at;
  const backupId = randomUUID();
  expect((await call("PUT", `${base}/backups/${backupId}`, backupBody(msId, settings))).status).toBe(202);
  expect(await status(base, backupId, backupBody(msId, settings))).toEqual({ exists: true });
  return backupId;
}

/** Polls until the backup's object is gone. */
export async function gone(base: string, backupId: string, body: unknown) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const reply = await call("POST", `${base}/backups/${backupId}/status`, body);
    if (!reply.body.exists || Date.now() > deadline) return reply.body;
    await sleep(25);
  }
}

export async function keysUnder(prefix: string): Promise<string[]> {
  const out = await s3Client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

export async function readObject(key: string) {
  const out = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await out.Body!.transformToString();
  seen.push(text);
  return { text, object: JSON.parse(text), etag: out.ETag, metadata: out.Metadata };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Moves the backends' clock (their answers, backups and change log read it). */
export function setClock(ms: number): void {
  clock = ms;
}

/** A second backends process on the same store, closed with the suite. */
export async function startOtherBackends(
  extra: Partial<ReferenceBackendOptions> = {},
): Promise<ReferenceBackends> {
  const other = await startBackends(extra);
  others.push(other);
  return other;
}

/** Registers a suite's hooks: one S3 server and bucket, one backends process, removed afterwards. */
export function useBackupBackends(): void {
  beforeAll(async () => {
    s3 = await startS3Server({ dataDir: tempDir() });
    s3Client = s3.client();
    bucket = await s3.bucket("landform-backups");
    backends = await startBackends();
  });

  afterAll(async () => {
    for (const b of others) await b.close();
    await backends?.close();
    await s3?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
}

/** No secret of the store, the services or the backends in any answer, log line or backup object read. */
export function expectNoSecretSeen(minimum: number, more: string[] = []): void {
  expect(seen.length).toBeGreaterThan(minimum);
  const secrets = [s3.secretKey, s3.accessKey, USER_PASSWORD, SUPERUSER_PASSWORD, KEY, ...more];
  for (const text of seen) {
    for (const secret of secrets) expect(text).not.toContain(secret);
  }
  expect(s3.output()).not.toContain(s3.secretKey);
}
