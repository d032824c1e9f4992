/**
 * Idempotency-Key through the real HTTP layer and a real store in a temp dir:
 * replay, mismatch, scopes, in-flight, malformed keys, atomicity with the
 * write, expiry and restarts. The routes are test routes whose handlers write
 * to the store, so "the write happened once" is read back from the database.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { DomainError, type ManagedServicesService, type ProvidersService } from "../domain/types";
import { IDEMPOTENCY_TTL_MS } from "../store/idempotency";
import { Store } from "../store/store";
import { TokenTable } from "./auth";
import { canonicalJson, Idempotency, type IdempotencyDeps, parseKey } from "./idempotency";
import { createApiHandler, RawBody, route } from "./server";

const A = "token-a";
const B = "token-b";
const SECRET = randomBytes(32);

interface Running {
  base: string;
  store: Store;
  clock: { now: number };
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "landform-idem-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** How many times the test routes wrote, read from the database. */
const writes = async (store: Store, name: string) => Number((await store.meta(`writes:${name}`)) ?? 0);

/**
 * A test write: bumps a counter in the store, in a transaction of its own
 * (which joins the key's), with a pause between its read and its write, as a
 * handler that calls a service between statements has.
 */
function write(store: Store, name: string) {
  return store.transaction(async () => {
    const n = (await writes(store, name)) + 1;
    await new Promise((r) => setTimeout(r, 1));
    await store.setMeta(`writes:${name}`, String(n));
    if (name === "refuse") throw new DomainError(409, "Conflict", "name: refused on purpose");
    return { name, n };
  });
}

async function start(
  dataDir: string,
  keys?: (store: Store) => IdempotencyDeps["keys"],
  clock = { now: Date.parse("2026-01-01T00:00:00Z") },
): Promise<Running> {
  const store = await Store.sqlite(dataDir);
  const tokens = new TokenTable();
  tokens.add(A, { teams: new Set([1]), admin: false });
  tokens.add(B, { teams: new Set([1]), admin: false });
  const Body = z.object({ name: z.string() });
  const handler = createApiHandler({
    // The managed-services routes are never called here; the test routes below are.
    providers: {} as ProvidersService,
    managedServices: {} as ManagedServicesService,
    stats: { servicesByState: () => ({}), reconcileOutcomes: () => ({}) },
    tokens,
    log: () => {},
    ready: () => true,
    idempotency: new Idempotency({
      keys: keys ? keys(store) : store.idempotency,
      transaction: (fn) => store.transaction(fn),
      now: () => clock.now,
      secret: SECRET,
    }),
    extraRoutes: [
      route({
        method: "POST",
        path: "/api/t/things",
        hidden: true,
        body: Body,
        handler: ({ body }) => write(store, body.name),
      }),
      route({
        method: "PATCH",
        path: "/api/t/things",
        hidden: true,
        body: Body,
        handler: ({ body }) => write(store, body.name),
      }),
      route({
        method: "PUT",
        path: "/api/t/things",
        hidden: true,
        body: Body,
        handler: ({ body }) => write(store, body.name),
      }),
      route({
        method: "POST",
        path: "/api/t/ping",
        hidden: true,
        handler: async () => {
          await write(store, "ping");
          return new RawBody("pong", "text/plain", 202);
        },
      }),
    ],
  });
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const running: Running = {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    store,
    clock,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await store.close();
    },
  };
  cleanups.push(() => running.close().catch(() => {}));
  return running;
}

async function send(
  cp: Running,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
  token = A,
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${cp.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe("parseKey", () => {
  it("reads a bare key and the draft's quoted form as the same key", () => {
    expect(parseKey(undefined)).toBeUndefined();
    expect(parseKey(["abc-1"])).toBe("abc-1");
    expect(parseKey(['"abc-1"'])).toBe("abc-1");
    expect(parseKey(["x".repeat(255)])).toHaveLength(255);
  });

  it.each([
    [[""], /must not be empty/],
    [['""'], /must not be empty/],
    [["x".repeat(256)], /at most 255 characters \(got 256\)/],
    [["caf\u00e9"], /printable ASCII/],
    [["a\u0001b"], /printable ASCII/],
    [['"a"b"'], /quotes or backslashes/],
    [["one", "two"], /given more than once/],
  ])("refuses %j with a 400 naming the header and the rule", (values, rule) => {
    const error = (() => {
      try {
        parseKey(values as string[]);
      } catch (e) {
        return e;
      }
    })() as DomainError;
    expect(error).toBeInstanceOf(DomainError);
    expect(error.status).toBe(400);
    expect(error.detail).toMatch(/^Idempotency-Key: /);
    expect(error.detail).toMatch(rule);
  });
});

describe("canonicalJson", () => {
  it("ignores key order and spacing but not array order, and keeps a __proto__ key", () => {
    expect(canonicalJson(JSON.parse('{"b":1,"a":{"d":2,"c":3}}'))).toBe(
      canonicalJson({ a: { c: 3, d: 2 }, b: 1 }),
    );
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1}}');
    expect(canonicalJson(undefined)).toBe("");
  });
});

describe("Idempotency-Key over HTTP", () => {
  it("answers a repeated request with the first answer, marked as a replay, writing once", async () => {
    const cp = await start(tempDir());
    const first = await send(cp, "POST", "/api/t/things", { name: "orders" }, { "idempotency-key": "k1" });
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    // Same request with its keys in another order and quoted key: still the same request.
    const again = await send(cp, "POST", "/api/t/things", '{ "name" : "orders" }', {
      "idempotency-key": '"k1"',
    });
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("content-type")).toBe("application/json");
    expect(await writes(cp.store, "orders")).toBe(1);
    // Without a key, nothing is replayed.
    await send(cp, "POST", "/api/t/things", { name: "orders" }, {});
    expect(await writes(cp.store, "orders")).toBe(2);
  });

  it("runs asynchronous handlers inside the key's transaction: concurrent keyed writes neither interleave nor get lost", async () => {
    const cp = await start(tempDir());
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        send(cp, "POST", "/api/t/things", { name: "counter" }, { "idempotency-key": `c${i}` }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    // Each handler read, paused and wrote the counter: serialized transactions give 1..10, no lost update.
    expect(answers.map((a) => (JSON.parse(a.text) as { n: number }).n).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    expect(await writes(cp.store, "counter")).toBe(10);
    const again = await send(cp, "POST", "/api/t/things", { name: "counter" }, { "idempotency-key": "c3" });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await writes(cp.store, "counter")).toBe(10);
  });

  it("replays a body-less POST's status, type and body too", async () => {
    const cp = await start(tempDir());
    const first = await send(cp, "POST", "/api/t/ping", undefined, { "idempotency-key": "p" });
    const again = await send(cp, "POST", "/api/t/ping", undefined, { "idempotency-key": "p" });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.text).toBe("pong");
    expect(again.headers.get("content-type")).toBe("text/plain");
    expect(await writes(cp.store, "ping")).toBe(1);
  });

  it("refuses the same key with another body or path with a 422 naming the header", async () => {
    const cp = await start(tempDir());
    await send(cp, "POST", "/api/t/things", { name: "orders" }, { "idempotency-key": "k2" });
    const other = await send(cp, "POST", "/api/t/things", { name: "billing" }, { "idempotency-key": "k2" });
    expect(other.status).toBe(422);
    const problem = JSON.parse(other.text) as {
      status: number;
      title: string;
      detail: string;
      traceId: string;
    };
    expect(problem).toMatchObject({ status: 422, title: "Unprocessable Entity" });
    expect(problem.detail).toMatch(/^Idempotency-Key: key "k2" was first used for a different request/);
    expect(problem.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(await writes(cp.store, "billing")).toBe(0);
    const patch = await send(cp, "PATCH", "/api/t/things", { name: "orders" }, { "idempotency-key": "k2" });
    expect(patch.status).toBe(422);
  });

  it("keeps one token's keys from answering another token", async () => {
    const cp = await start(tempDir());
    await send(cp, "POST", "/api/t/things", { name: "orders" }, { "idempotency-key": "shared" }, A);
    const b = await send(cp, "POST", "/api/t/things", { name: "orders" }, { "idempotency-key": "shared" }, B);
    expect(b.status).toBe(200);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(JSON.parse(b.text)).toEqual({ name: "orders", n: 2 });
    expect(await writes(cp.store, "orders")).toBe(2);
  });

  it("honours PATCH and ignores the header on PUT, where repeating is harmless anyway", async () => {
    const cp = await start(tempDir());
    await send(cp, "PATCH", "/api/t/things", { name: "p" }, { "idempotency-key": "k3" });
    const again = await send(cp, "PATCH", "/api/t/things", { name: "p" }, { "idempotency-key": "k3" });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await writes(cp.store, "p")).toBe(1);
    // Not even a malformed key matters on PUT.
    const put = await send(cp, "PUT", "/api/t/things", { name: "u" }, { "idempotency-key": "x".repeat(300) });
    expect(put.status).toBe(200);
    await send(cp, "PUT", "/api/t/things", { name: "u" }, { "idempotency-key": "x".repeat(300) });
    expect(await writes(cp.store, "u")).toBe(2);
  });

  it("answers 400 for a malformed key before doing anything", async () => {
    const cp = await start(tempDir());
    const res = await send(
      cp,
      "POST",
      "/api/t/things",
      { name: "orders" },
      { "idempotency-key": "k".repeat(256) },
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).detail).toMatch(/^Idempotency-Key: must be at most 255 characters/);
    expect(await writes(cp.store, "orders")).toBe(0);
  });

  it("answers 409 to a request whose key is still being answered, then serves the first answer", async () => {
    const cp = await start(tempDir());
    const body = JSON.stringify({ name: "slow" });
    // The first request sends its headers and half its body, then waits.
    const first = request(`${cp.base}/api/t/things`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${A}`,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "idempotency-key": "k4",
      },
    });
    const firstAnswer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      first.on("response", (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      first.on("error", reject);
    });
    first.write(body.slice(0, 5));
    await new Promise((r) => setTimeout(r, 50));

    const second = await send(cp, "POST", "/api/t/things", { name: "slow" }, { "idempotency-key": "k4" });
    expect(second.status).toBe(409);
    expect(JSON.parse(second.text).detail).toMatch(
      /^Idempotency-Key: a request with key "k4" is still being answered/,
    );

    first.end(body.slice(5));
    const done = await firstAnswer;
    expect(done.status).toBe(200);
    const third = await send(cp, "POST", "/api/t/things", { name: "slow" }, { "idempotency-key": "k4" });
    expect(third.headers.get("idempotent-replayed")).toBe("true");
    expect(third.text).toBe(done.text);
    expect(await writes(cp.store, "slow")).toBe(1);
  });

  it("frees a key whose request was abandoned mid-body", async () => {
    const cp = await start(tempDir());
    const abandoned = request(`${cp.base}/api/t/things`, {
      method: "POST",
      headers: { authorization: `Bearer ${A}`, "content-length": "100", "idempotency-key": "k5" },
    });
    abandoned.on("error", () => {});
    abandoned.write("{");
    await new Promise((r) => setTimeout(r, 50));
    abandoned.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const retry = await send(cp, "POST", "/api/t/things", { name: "later" }, { "idempotency-key": "k5" });
    expect(retry.status).toBe(200);
    expect(await writes(cp.store, "later")).toBe(1);
  });

  it("does not remember a refused request: its retry is judged afresh", async () => {
    const cp = await start(tempDir());
    const refused = await send(cp, "POST", "/api/t/things", { name: "refuse" }, { "idempotency-key": "k6" });
    expect(refused.status).toBe(409);
    // The refusal rolled its write back, and left the key free.
    expect(await writes(cp.store, "refuse")).toBe(0);
    const other = await send(cp, "POST", "/api/t/things", { name: "fine" }, { "idempotency-key": "k6" });
    expect(other.status).toBe(200);
  });

  it("never keeps a write without its key: a failure to record rolls the write back", async () => {
    const cp = await start(tempDir(), (store) => ({
      find: (...args) => store.idempotency.find(...args),
      record: async (...args) => {
        await store.idempotency.record(...args);
        throw new Error("disk full");
      },
    }));
    const res = await send(cp, "POST", "/api/t/things", { name: "orders" }, { "idempotency-key": "k7" });
    expect(res.status).toBe(500);
    expect(await writes(cp.store, "orders")).toBe(0);
    expect(await cp.store.idempotency.size()).toBe(0);
  });

  it("forgets keys after 24 hours and sweeps them from the table", async () => {
    const cp = await start(tempDir());
    await send(cp, "POST", "/api/t/things", { name: "a" }, { "idempotency-key": "old" });
    cp.clock.now += IDEMPOTENCY_TTL_MS - 1;
    expect(
      (await send(cp, "POST", "/api/t/things", { name: "a" }, { "idempotency-key": "old" })).headers.get(
        "idempotent-replayed",
      ),
    ).toBe("true");
    cp.clock.now += 1;
    // Expired: the same key is free for a new request.
    const fresh = await send(cp, "POST", "/api/t/things", { name: "b" }, { "idempotency-key": "old" });
    expect(fresh.status).toBe(200);
    await send(cp, "POST", "/api/t/things", { name: "c" }, { "idempotency-key": "other" });
    expect(await cp.store.idempotency.size()).toBe(2);
    cp.clock.now += IDEMPOTENCY_TTL_MS;
    // The next write sweeps what expired (at most once a minute).
    await send(cp, "POST", "/api/t/things", { name: "d" }, { "idempotency-key": "new" });
    expect(await cp.store.idempotency.size()).toBe(1);
  });

  it("replays across a restart of the server on the same data dir", async () => {
    const dir = tempDir();
    const cp = await start(dir);
    const first = await send(cp, "POST", "/api/t/things", { name: "orders" }, { "idempotency-key": "k8" });
    await cp.close();
    const again = await start(dir, undefined, cp.clock);
    const replay = await send(
      again,
      "POST",
      "/api/t/things",
      { name: "orders" },
      { "idempotency-key": "k8" },
    );
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.text).toBe(first.text);
    expect(await writes(again.store, "orders")).toBe(1);
  });
});
