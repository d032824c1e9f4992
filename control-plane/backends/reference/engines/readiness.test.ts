/**
 * The PostgreSQL and FerretDB readiness checks against a port held by a
 * program that is not the server: one that accepts and never answers, or
 * one that answers in another protocol. The port of a paused service may be
 * taken so when it resumes; the check must end by its deadline with an error
 * that says why, never wait without end (test/engines.redis.test.ts covers
 * the same for Redis end to end).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Peers } from "../../../../test/support/peers";
import type { Place } from "./driver";
import { FerretdbDriver } from "./ferretdb";
import { MongoWire } from "./mongo-wire";
import { PostgresDriver } from "./postgres";

const peers = new Peers();
afterEach(() => peers.close());

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-readiness-"));
fs.writeFileSync(path.join(dir, "admin.secret"), "not-a-real-password", { mode: 0o600 });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const postgres = new PostgresDriver(
  { kind: "postgres", major: 16, binDir: "/nonexistent", version: "16.0", source: "none" },
  () => ({ user: "app", password: "unused", database: "app" }),
);
const ferretdb = new FerretdbDriver({ kind: "ferretdb", file: "/nonexistent", version: "0", source: "none" });

const place = (port: number): Place => ({ dir, port, runAs: null });
const http = (socket: import("node:net").Socket) =>
  socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"));

/** How long `check` took to reject, and with what. */
async function rejection(check: () => Promise<unknown>): Promise<{ ms: number; message: string }> {
  const started = Date.now();
  const error = await check().then(
    () => new Error("resolved"),
    (e: unknown) => e as Error,
  );
  return { ms: Date.now() - started, message: error.message };
}

describe.each([
  ["PostgreSQL", postgres, /PostgreSQL 16 did not accept connections in time: .*timeout/i],
  [
    "FerretDB",
    ferretdb,
    /FerretDB did not answer in time: no (connection to|reply from) 127\.0\.0\.1:\d+ within \d+ ms/,
  ],
] as const)("%s readiness", (_name, driver, message) => {
  it("ends by its deadline when the port's holder accepts and never answers", async () => {
    const port = await peers.listen();
    const { ms, message: said } = await rejection(() => driver.ready(place(port), 700, () => false));
    expect(said).toMatch(message);
    // The deadline plus one short attempt and a pause between attempts; a 5 s (or endless) wait fails.
    expect(ms).toBeGreaterThanOrEqual(650);
    expect(ms).toBeLessThan(2_000);
  });

  it("ends by its deadline when the port's holder speaks another protocol", async () => {
    const port = await peers.listen(http);
    const { ms, message: said } = await rejection(() => driver.ready(place(port), 700, () => false));
    expect(said).toMatch(/did not (accept connections|answer) in time/);
    expect(ms).toBeLessThan(2_000);
  });
});

describe("MongoWire", () => {
  it("gives up on a reply that never comes, and the connection stays failed", async () => {
    const port = await peers.listen();
    const c = await MongoWire.connect(port, "127.0.0.1", { replyMs: 300 });
    const { ms, message } = await rejection(() => c.command("admin", { hello: 1 }));
    expect(message).toBe(`no reply from 127.0.0.1:${port} within 300 ms`);
    expect(ms).toBeLessThan(1_500);
    await expect(c.command("admin", { hello: 1 })).rejects.toThrow("no reply");
  });

  it("rejects when the peer hangs up or answers in another protocol", async () => {
    const port = await peers.listen(http);
    const c = await MongoWire.connect(port, "127.0.0.1", { replyMs: 5_000 });
    const { ms, message } = await rejection(() => c.command("admin", { hello: 1 }));
    expect(message).toMatch(/closed|does not speak/);
    expect(ms).toBeLessThan(1_500);
  });
});
