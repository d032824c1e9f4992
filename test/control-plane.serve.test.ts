/**
 * `landform serve` as an operator meets it: the development token, the data
 * dir (secrets sealed, key file private), health, readiness, metrics and the
 * served OpenAPI document.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient, waitForState } from "../sdk";
import { PG_PASSWORD, PG_USERNAME, postgresRequest } from "./support/fixtures";
import { CLI, ROOT, ServedControlPlane } from "./support/serve";

/** Every row of every table of the store's PostgreSQL database, as text. */
async function databaseText(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    );
    let text = "";
    for (const { tablename } of tables.rows) {
      const rows = await client.query(`SELECT * FROM ${client.escapeIdentifier(tablename)}`);
      text += JSON.stringify(rows.rows);
    }
    return text;
  } finally {
    await client.end();
  }
}

let cp: ServedControlPlane;
let token = "";

beforeAll(async () => {
  cp = await ServedControlPlane.start({ operationDelayMs: 20 });
  token = (await cp.waitForOutput(/export CS_TOKEN=(\S+)/))[1] ?? "";
});

afterAll(async () => {
  await cp?.close();
});

describe("landform serve without configured tokens", () => {
  it("makes a development token for team 1 and prints it once", async () => {
    expect(token).toMatch(/^lf_dev_/);
    const client = new CodesphereClient({ baseUrl: cp.apiUrl, token });
    const created = await client.managedServices.create(postgresRequest("dev-db"));
    await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });
    await client.close();

    const printed = cp.output.split(token).length - 1;
    await cp.restart("SIGTERM");
    expect(cp.output.split(token).length - 1).toBe(printed); // not printed again ...
    const again = new CodesphereClient({ baseUrl: cp.apiUrl, token });
    expect((await again.managedServices.get(created.id)).name).toBe("dev-db"); // ... and still valid
    await again.close();
  });

  it("keeps secrets sealed at rest, with a key file only its owner can read", async () => {
    const key = statSync(join(cp.dataDir, "vault.key"));
    expect(key.mode & 0o777).toBe(0o600);
    // What is at rest: the SQLite files of the data dir, or every row of the PostgreSQL database.
    const atRest = cp.database
      ? [await databaseText(cp.database)]
      : readdirSync(cp.dataDir)
          .filter((f) => f.startsWith("control-plane.sqlite"))
          .map((file) => readFileSync(join(cp.dataDir, file)).toString("latin1"));
    expect(atRest.join("")).toContain("dev-db"); // the service is there ...
    for (const bytes of atRest) {
      expect(bytes).not.toContain(PG_PASSWORD); // ... its secrets are not, in the clear
      expect(bytes).not.toContain(PG_USERNAME);
      expect(bytes).not.toContain(token);
    }
  });
});

describe("operational endpoints", () => {
  it("answer health and readiness without a token", async () => {
    for (const path of ["/health", "/healthz", "/ready", "/readyz"]) {
      const res = await fetch(`${cp.url}${path}`);
      expect(res.status, path).toBe(200);
    }
  });

  it("expose Prometheus metrics: requests, latencies, services by state, reconcile outcomes", async () => {
    // Counters start at zero with each process; give this one some work.
    const client = new CodesphereClient({ baseUrl: cp.apiUrl, token });
    const created = await client.managedServices.create(postgresRequest("metered-db"));
    await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });
    await client.close();
    const text = await (await fetch(`${cp.url}/metrics`)).text();
    expect(text).toMatch(/^landform_http_requests_total\{.*\} \d+/m);
    expect(text).toMatch(/^landform_http_request_duration_seconds_bucket\{.*le="0\.005".*\} \d+/m);
    expect(text).toMatch(/^landform_managed_services\{state="synchronized"\} 2$/m);
    expect(text).toMatch(/^landform_reconcile_total\{outcome="synchronized"\} \d+/m);
  });

  it("serve an OpenAPI document generated from the SDK schemas, with every published operation", async () => {
    const served = (await (await fetch(`${cp.apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const published = JSON.parse(
      readFileSync(join(ROOT, "contract", "codesphere-public-api.managed-services.openapi.json"), "utf8"),
    ) as typeof served;
    const ids = (doc: typeof served) =>
      Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(ids(served)).toEqual(expect.arrayContaining(ids(published)));
    expect(ids(served)).toContain("managed-services-listEvents");
  });
});

describe("landform backend", () => {
  it("serves the reference backends alone, behind their key", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "landform-backend-"));
    const child = spawn(
      process.execPath,
      [CLI, "backend", "--port", "0", "--data-dir", dataDir, "--key", "bk"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (c: Buffer) => {
          out += c.toString();
          const m = /"msg":"ready","url":"([^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`landform backend exited with ${code}: ${out}`)));
      });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/api/v1/postgres`)).status).toBe(401);
      const listed = await fetch(`${url}/api/v1/postgres`, { headers: { "x-api-key": "bk" } });
      expect(listed.status).toBe(200);
      expect(await listed.json()).toEqual([]);
    } finally {
      child.kill("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
