/**
 * Real Redis servers behind `landform serve`: AUTH with the service's
 * password, config through CONFIG SET, and keys that survive pause, resume
 * and restarts of landform serve (clean and killed), and a resume on a new
 * port when another program took the old one meanwhile. Needs `redis-server`
 * (Debian's redis-server package); without it the service is simulated and
 * this suite fails on `simulated: true`.
 */
import fs from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisError, RespClient } from "../control-plane/backends/reference/engines/resp";
import { CodesphereClient, waitForDeleted, waitForState } from "../sdk";
import { engineDir, eventually, portOpen, processesUnder } from "./support/engines";
import { ServedControlPlane } from "./support/serve";

const PASSWORD = "redis-pass-Hy62-saffron";
const TIMEOUT = { timeoutMs: 60_000 };

let cp: ServedControlPlane;
let client: CodesphereClient;

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: ["redis-token=1"] });
  client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "redis-token", maxRetries: 2 });
});

afterAll(async () => {
  await client?.close();
  const dataDir = cp?.dataDir;
  await cp?.close();
  if (dataDir) expect(processesUnder(dataDir)).toEqual([]);
});

async function authed(port: number): Promise<RespClient> {
  const c = await RespClient.connect(port);
  await c.call("AUTH", PASSWORD);
  return c;
}

describe("redis: a real server per service", () => {
  let id: string;
  let port: number;

  it("requires AUTH with the service's password and keeps keys", async () => {
    const created = await client.managedServices.create({
      teamId: 1,
      name: "real-redis",
      provider: { name: "redis", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: { maxmemoryPolicy: "allkeys-lru" },
      secrets: { password: PASSWORD },
    });
    id = created.id;
    const synced = await waitForState(client, id, "synchronized", TIMEOUT);
    const details = synced.details as Record<string, unknown>;
    expect(details).toMatchObject({
      hostname: "127.0.0.1",
      ready: true,
      serverVersion: expect.stringMatching(/^[0-9]+\./),
    });
    port = Number(details.port);
    expect(details.dsn).toBe(`redis://127.0.0.1:${port}`);

    const anonymous = await RespClient.connect(port);
    try {
      const refused = await anonymous.command("GET", "greeting");
      expect(refused).toBeInstanceOf(RedisError);
      expect(String((refused as RedisError).message)).toMatch(/^NOAUTH/);
      expect(await anonymous.command("AUTH", "not-the-password")).toBeInstanceOf(RedisError);
    } finally {
      anonymous.close();
    }
    const c = await authed(port);
    try {
      expect(await c.call("SET", "greeting", "hello")).toBe("OK");
      expect(await c.call("GET", "greeting")).toBe("hello");
      expect(await c.call("CONFIG", "GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "allkeys-lru"]);
      // The Small plan's 256 MiB.
      expect(await c.call("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", String(256 * 1024 * 1024)]);
    } finally {
      c.close();
    }
  });

  it("applies a config change to the running server", async () => {
    await client.managedServices.update(id, { config: { maxmemoryPolicy: "volatile-lru" } });
    await waitForState(client, id, "synchronized", TIMEOUT);
    const c = await authed(port);
    try {
      expect(await c.call("CONFIG", "GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "volatile-lru"]);
      expect(await c.call("GET", "greeting")).toBe("hello");
    } finally {
      c.close();
    }
  });

  it("refuses connections while paused and keeps the keys across pause and resume", async () => {
    await client.managedServices.update(id, { pause: true });
    await waitForState(client, id, "paused", TIMEOUT);
    expect(await portOpen(port)).toBe(false);
    await client.managedServices.update(id, { pause: false });
    await waitForState(client, id, "synchronized", TIMEOUT);
    const c = await authed(port);
    try {
      expect(await c.call("GET", "greeting")).toBe("hello");
      expect(await c.call("SET", "after-resume", "yes")).toBe("OK");
    } finally {
      c.close();
    }
  });

  it("resumes on a free port when another program took the service's port while it was paused", async () => {
    await client.managedServices.update(id, { pause: true });
    await waitForState(client, id, "paused", TIMEOUT);
    // The worst kind of squatter: it accepts connections and never answers.
    const squatter = net.createServer(() => {});
    await new Promise<void>((resolve) => squatter.listen(port, "127.0.0.1", resolve));
    try {
      await client.managedServices.update(id, { pause: false });
      const resumed = await waitForState(client, id, "synchronized", TIMEOUT);
      const moved = Number((resumed.details as Record<string, unknown>).port);
      expect(moved).not.toBe(port);
      const c = await authed(moved);
      try {
        expect(await c.call("GET", "greeting")).toBe("hello");
      } finally {
        c.close();
      }
      port = moved;
    } finally {
      squatter.close();
    }
  });

  it("keeps the keys across a clean restart and a crash of landform serve", async () => {
    await cp.restart("SIGTERM");
    const c1 = await eventually(() => authed(port));
    try {
      expect(await c1.call("GET", "greeting")).toBe("hello");
      expect(await c1.call("GET", "after-resume")).toBe("yes");
      expect(await c1.call("SET", "before-crash", "kept")).toBe("OK");
    } finally {
      c1.close();
    }
    // Killed, landform serve leaves its servers running; the next start takes them over cleanly.
    await cp.restart("SIGKILL");
    const c2 = await eventually(() => authed(port));
    try {
      expect(await c2.call("GET", "greeting")).toBe("hello");
      // appendfsync everysec: a write is on disk within a second; the old server was stopped cleanly.
      expect(await c2.call("GET", "before-crash")).toBe("kept");
    } finally {
      c2.close();
    }
    // The restarted control plane listens on a new port.
    await client.close();
    client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "redis-token", maxRetries: 2 });
  });

  it("deletes the server: the port closes and the data folder goes", async () => {
    await client.managedServices.delete(id);
    await waitForDeleted(client, id, TIMEOUT);
    await eventually(async () => {
      expect(await portOpen(port)).toBe(false);
      expect(fs.existsSync(engineDir(cp.dataDir, "redis", id))).toBe(false);
    });
  });
});
