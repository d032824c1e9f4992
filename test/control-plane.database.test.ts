/**
 * `landform serve --database` as an operator meets it: the URL from the flag
 * or LANDFORM_DATABASE, its password never printed, a URL that is not
 * PostgreSQL refused naming the flag, and /ready following the database
 * (503 while it does not answer, 200 again once it does). Always on a real
 * PostgreSQL of its own, whichever store the other suites run on.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import { postgresRequest } from "./support/fixtures";
import { startPostgres, type TestPostgres } from "./support/postgres";
import { CLI, ServedControlPlane } from "./support/serve";

let server: TestPostgres;
let cp: ServedControlPlane;
let database: string;

beforeAll(async () => {
  server = await startPostgres();
  database = await server.createDatabase();
  cp = await ServedControlPlane.start({ database, tokens: ["db-token=1"], operationDelayMs: 10 });
});

afterAll(async () => {
  await cp?.close();
  await server?.stop();
});

async function ready(): Promise<number> {
  return (await fetch(`${cp.url}/ready`)).status;
}

describe("landform serve --database", () => {
  it("keeps its state in the database and names it without the password", async () => {
    const client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "db-token" });
    const created = await client.managedServices.create(postgresRequest("in-pg"));
    await client.close();
    const pg = await import("pg");
    const c = new pg.default.Client({ connectionString: database });
    await c.connect();
    const rows = await c.query<{ name: string }>("SELECT name FROM services WHERE id = $1", [created.id]);
    await c.end();
    expect(rows.rows).toEqual([{ name: "in-pg" }]);
    const listening = /"msg":"control plane listening".*\n/.exec(cp.output)?.[0] ?? "";
    expect(listening).toContain('"store":"postgres"');
    expect(listening).toContain(`${server.user}:***@127.0.0.1:${server.port}`);
    expect(cp.output).not.toContain(server.password);
  });

  it("answers /ready only while the database answers", async () => {
    expect(await ready()).toBe(200);
    await server.stop();
    // The answer is cached for about a second.
    const deadline = Date.now() + 10_000;
    let status = await ready();
    while (status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = await ready();
    }
    expect(status).toBe(503);
    expect((await fetch(`${cp.url}/health`)).status).toBe(200);
    expect(cp.output).not.toContain(server.password);
  });

  it("refuses a database URL that is not PostgreSQL, naming the flag and not the value", async () => {
    const child = spawn(
      process.execPath,
      [CLI, "serve", "--port", "0", "--data-dir", cp.dataDir, "--token", "t=1"],
      {
        env: { ...process.env, LANDFORM_DATABASE: "mysql://root:topsecretpw@db/landform" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    expect(code).toBe(1);
    expect(output).toContain("--database (LANDFORM_DATABASE): must be a postgres:// or postgresql:// URL");
    expect(output).not.toContain("topsecretpw");
  });
});
