/**
 * The vault and the keys around it, as an operator meets them: `landform
 * vault rotate` on a stopped control plane (secrets still reach the backend
 * afterwards, only the new key id is left), key files instead of flags, and
 * reference backends that answer nothing but health without their key.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqlite } from "../control-plane/store/sqlite-open";
import { CodesphereClient, type schemas, waitForState } from "../sdk";
import { CLI, ServedControlPlane } from "./support/serve";

const SUPER_BEFORE = "superpw-Hd19-quarry";
const SUPER_AFTER = "superpw-Wm63-estuary";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Babelfish stays simulated by the reference backends, so the test needs no database engine. */
function babelfishRequest(name: string): schemas.CreateManagedServiceRequest {
  return {
    teamId: 1,
    name,
    provider: { name: "babelfish", version: "v1" },
    plan: { id: 0, parameters: { storage: 1024 } },
    config: { version: "16.10-4.7.0" },
    // The core catalog's babelfish has one secret, the superuser's password.
    secrets: { superuserPassword: SUPER_BEFORE },
  };
}

function rotate(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const out = spawnSync(process.execPath, [CLI, "vault", "rotate", ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** Every sealed value of the control plane's database, and every secret the backends' store holds by id. */
function readDataDir(dir: string): {
  sealed: string[];
  secretRows: number;
  backendSecrets: Map<string, unknown>;
} {
  const cp = openSqlite(join(dir, "control-plane.sqlite"), { readonly: true });
  const secretRows = cp.prepare<[], { sealed: string }>("SELECT sealed FROM secrets").all();
  const sealed = [
    ...secretRows.map((r) => r.sealed),
    ...cp
      .prepare<[], { value: string }>("SELECT value FROM meta")
      .all()
      .map((r) => r.value)
      .filter((v) => /^v[12]\./.test(v)),
  ];
  cp.close();
  // The reference backends play the database server, which has to know its own passwords.
  const rb = openSqlite(join(dir, "reference-backends.sqlite"), { readonly: true });
  const rows = rb.prepare<[], { id: string; secrets: string }>("SELECT id, secrets FROM services").all();
  rb.close();
  return {
    sealed,
    secretRows: secretRows.length,
    backendSecrets: new Map(rows.map((r) => [r.id, JSON.parse(r.secrets)])),
  };
}

/** The files of the control plane (the backends' simulated server files aside) as text, to search for plaintext. */
function controlPlaneFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    if (name.startsWith("reference-backends") || !statSync(join(dir, name)).isFile()) continue;
    files.set(name, readFileSync(join(dir, name)).toString("latin1"));
  }
  return files;
}

describe("landform vault rotate", () => {
  it("re-seals every secret with a new key while serve is stopped; the service's secrets still reach the backend", async () => {
    const cp = await ServedControlPlane.start({ operationDelayMs: 20 });
    cleanups.push(() => cp.close());
    const token = (await cp.waitForOutput(/export CS_TOKEN=(\S+)/))[1]!;
    let client = new CodesphereClient({ baseUrl: cp.apiUrl, token });
    const created = await client.managedServices.create(babelfishRequest("rotating-db"));
    await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });
    await client.close();

    // Refused while serve holds the data dir: its vault would keep sealing with the old key.
    const busy = rotate(["--data-dir", cp.dataDir]);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(/in use by another landform process \(pid \d+\)/);

    await cp.stop();
    const before = readDataDir(cp.dataDir);
    const oldKids = new Set(before.sealed.map((s) => s.split(".")[1]));
    expect(oldKids.size).toBe(1);
    expect(before.sealed.length).toBeGreaterThanOrEqual(2); // the service's secrets and the development token

    const done = rotate(["--data-dir", cp.dataDir]);
    expect(done.stderr).toBe("");
    expect(done.status).toBe(0);
    const newKid = /active key: ([0-9a-f]{16})/.exec(done.stdout)?.[1];
    expect(newKid).toBeDefined();
    expect(done.stdout).toContain(
      `re-sealed: ${before.secretRows} secrets, ${before.sealed.length - before.secretRows} metadata values`,
    );
    expect(done.stdout).toContain(`retired keys: ${[...oldKids][0]}`);
    // Never key material: the ring file's keys appear nowhere in what it printed.
    for (const line of readFileSync(join(cp.dataDir, "vault.key"), "utf8").split("\n")) {
      if (line && !line.startsWith("#")) expect(done.stdout).not.toContain(line);
    }

    const after = readDataDir(cp.dataDir);
    expect(after.sealed).toHaveLength(before.sealed.length);
    expect(new Set(after.sealed.map((s) => s.split(".").slice(0, 2).join(".")))).toEqual(
      new Set([`v2.${newKid}`]),
    );
    expect(statSync(join(cp.dataDir, "vault.key")).mode & 0o777).toBe(0o600);

    // Restart: the development token (sealed metadata) still admits, and a secrets PATCH replaces the
    // re-sealed secret and reaches the backend.
    await cp.launch();
    client = new CodesphereClient({ baseUrl: cp.apiUrl, token });
    await client.managedServices.update(created.id, { secrets: { superuserPassword: SUPER_AFTER } });
    await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });
    await client.close();
    await cp.stop();

    const final = readDataDir(cp.dataDir);
    expect(final.backendSecrets.get(created.id)).toEqual({ superuserPassword: SUPER_AFTER });
    expect(new Set(final.sealed.map((s) => s.split(".")[1]))).toEqual(new Set([newKid]));
    for (const [name, text] of controlPlaneFiles(cp.dataDir)) {
      for (const secret of [SUPER_BEFORE, SUPER_AFTER, token]) {
        expect(text.includes(secret), `${secret} in ${name}`).toBe(false);
      }
    }
    for (const secret of [SUPER_BEFORE, SUPER_AFTER]) expect(cp.output).not.toContain(secret);
  });

  it("reads the key ring from --vault-key-file, warns when others can read it, and rewrites it on rotation", async () => {
    const keyDir = tempDir("landform-keyfile-");
    const keyFile = join(keyDir, "ring.key");
    writeFileSync(keyFile, `${Buffer.alloc(32, 7).toString("base64")}\n`, { mode: 0o644 });
    const cp = await ServedControlPlane.start({
      tokens: ["ops-token=1"],
      operationDelayMs: 20,
      extraArgs: ["--vault-key-file", keyFile],
    });
    cleanups.push(() => cp.close());
    expect(cp.output).toContain(`can be read or written by other users (mode 0644); chmod 600 it`);
    const client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "ops-token" });
    const created = await client.managedServices.create(babelfishRequest("keyfile-db"));
    await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });
    await client.close();
    await cp.stop();
    // The data dir's own vault.key is not made when a key file is given.
    expect(readdirSync(cp.dataDir)).not.toContain("vault.key");

    const done = rotate(["--data-dir", cp.dataDir, "--vault-key-file", keyFile]);
    expect(done.status).toBe(0);
    const newKid = /active key: ([0-9a-f]{16})/.exec(done.stdout)![1];
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(new Set(readDataDir(cp.dataDir).sealed.map((s) => s.split(".")[1]))).toEqual(new Set([newKid]));

    // The retired key no longer opens the data dir: serve says which key it needs instead of starting.
    const stale = join(keyDir, "stale.key");
    writeFileSync(stale, Buffer.alloc(32, 7).toString("base64"), { mode: 0o600 });
    const refused = await ServedControlPlane.start({
      dataDir: cp.dataDir,
      tokens: ["ops-token=1"],
      extraArgs: ["--vault-key-file", stale],
    }).then(
      () => "started",
      (err: Error) => err.message,
    );
    expect(refused).toContain(`landform serve exited with 1`);
    expect(refused).toContain(`sealed with vault key ${newKid}, which the key ring`);

    // A key given inline cannot be rewritten, and value plus file for one key is refused, not guessed.
    const inline = rotate(["--data-dir", cp.dataDir, "--vault-key", Buffer.alloc(32, 7).toString("base64")]);
    expect(inline.status).toBe(1);
    expect(inline.stderr).toContain("cannot be rotated: put it in a file and pass --vault-key-file");
    const both = rotate(["--data-dir", cp.dataDir, "--vault-key", "x", "--vault-key-file", keyFile]);
    expect(both.stderr).toContain("give --vault-key (LANDFORM_VAULT_KEY) or --vault-key-file");
  });
});

// ---------------------------------------------------------------- keyed reference backends

/** Every endpoint of the reference backends but health and readiness, with a body where one is expected. */
function endpoints(id: string): [string, string, unknown?][] {
  const routes: [string, string, unknown?][] = [
    ["GET", "/admin/faults"],
    ["POST", "/admin/faults", { failNext: 1 }],
    ["DELETE", "/admin/faults"],
    ["GET", "/nowhere"],
  ];
  for (const p of ["postgres", "postgresql", "redis", "s3", "babelfish"]) {
    const base = `/api/v1/${p}`;
    routes.push(
      ["GET", base],
      ["GET", `${base}?id=${id}`],
      ["POST", base, { id, teamId: 1, plan: { parameters: {} }, config: {}, secrets: {} }],
      ["PATCH", `${base}/${id}`, { id, teamId: 1 }],
      ["DELETE", `${base}/${id}`],
      ["PUT", `${base}/backups/b-1`, { msId: id, teamId: 1, config: {}, secrets: {} }],
      ["POST", `${base}/backups/b-1/status`, { msId: id, teamId: 1, config: {}, secrets: {} }],
      ["DELETE", `${base}/backups/b-1`, { msId: id, teamId: 1, config: {}, secrets: {} }],
      ["GET", `${base}/${id}/data`],
      ["PUT", `${base}/${id}/data/k`, { value: "v" }],
      ["DELETE", `${base}/${id}/data/k`],
    );
  }
  return routes;
}

async function expectRefusedEverywhere(url: string, key: string, id: string): Promise<void> {
  const wrong: Record<string, string>[] = [
    {},
    { "x-api-key": "" },
    { "x-api-key": `${key}x` },
    { authorization: "Bearer " },
    { authorization: `Bearer ${key.slice(1)}` },
  ];
  for (const [method, path, body] of endpoints(id)) {
    for (const headers of wrong) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const label = `${method} ${path} ${JSON.stringify(headers)}`;
      expect(res.status, label).toBe(401);
      expect(res.headers.get("content-type"), label).toBe("application/problem+json");
      expect(await res.json(), label).toEqual({
        status: 401,
        title: "Unauthorized",
        detail: expect.stringContaining("missing or wrong API key"),
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        error: "missing or wrong API key",
      });
    }
  }
  for (const path of ["/health", "/ready"]) expect((await fetch(`${url}${path}`)).status, path).toBe(200);
}

describe("the reference backends", () => {
  it("behind landform serve refuse every endpoint without their key, and answer with it", async () => {
    const cp = await ServedControlPlane.start({ tokens: ["t=1"], operationDelayMs: 20 });
    cleanups.push(() => cp.close());
    const client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "t" });
    const created = await client.managedServices.create(babelfishRequest("keyed-db"));
    await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });
    await client.close();

    await expectRefusedEverywhere(cp.backendsUrl, cp.backendKey, created.id);
    // Nothing the refused calls asked for happened: the service is still there, no fault is set.
    expect((await cp.backend("GET", "/api/v1/babelfish")).body).toEqual([created.id]);
    expect((await cp.backend("GET", "/admin/faults")).status).toBe(200);
    expect((await cp.backend("GET", `/api/v1/babelfish/${created.id}/data`)).status).toBe(200);
  });

  it("run by landform backend without a key make one, keep it in a 0600 file, and print where, not what", async () => {
    const dataDir = tempDir("landform-backend-");
    const start = async (): Promise<{ child: ChildProcess; url: string; out: () => string }> => {
      const child = spawn(process.execPath, [CLI, "backend", "--port", "0", "--data-dir", dataDir], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LANDFORM_BACKEND_KEY: "", LANDFORM_BACKEND_KEY_FILE: "" },
      });
      cleanups.push(() => void child.kill("SIGKILL"));
      let out = "";
      child.stderr!.on("data", (c: Buffer) => {
        out += c.toString();
      });
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout!.on("data", (c: Buffer) => {
          out += c.toString();
          const m = /"msg":"ready","url":"([^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`landform backend exited with ${code}: ${out}`)));
      });
      return { child, url, out: () => out };
    };
    const stop = (child: ChildProcess) =>
      new Promise<void>((r) => {
        child.once("exit", () => r());
        child.kill("SIGTERM");
      });

    const first = await start();
    const keyFile = join(dataDir, "backend.key");
    const key = readFileSync(keyFile, "utf8").trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(first.out()).toContain(`"msg":"made a backend key","keyFile":"${keyFile}"`);
    expect(first.out()).not.toContain(key);
    await expectRefusedEverywhere(first.url, key, "11111111-2222-4333-8444-555555555555");
    const listed = await fetch(`${first.url}/api/v1/redis`, { headers: { authorization: `Bearer ${key}` } });
    expect(listed.status).toBe(200);
    await stop(first.child);

    // A restart keeps the key it made.
    const second = await start();
    expect(second.out()).toContain(`"msg":"using the kept backend key","keyFile":"${keyFile}"`);
    expect(readFileSync(keyFile, "utf8").trim()).toBe(key);
    expect((await fetch(`${second.url}/api/v1/redis`, { headers: { "x-api-key": key } })).status).toBe(200);
    await stop(second.child);
  });
});
