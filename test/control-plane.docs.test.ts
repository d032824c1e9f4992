/**
 * The platform's published guide (contract/docs-deploying-services.txt) run
 * against `landform serve`: each curl command is taken from the page as it
 * stands, only its placeholders filled in, and run with the real curl.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient, type ManagedService, waitForState } from "../sdk";
import { contractViolation, type Exchange } from "./support/openapi";
import { ROOT, ServedControlPlane } from "./support/serve";

// This suite follows the guide with the simulated data set (data endpoint): the services are simulated.
// Real servers are covered by test/engines.*.test.ts (landform serve reads this from its environment).
process.env.LANDFORM_ENGINES = "simulated";

const guide = readFileSync(join(ROOT, "contract", "docs-deploying-services.txt"), "utf8");
/** The guide's curl commands, in page order: create, update, pause, resume, delete. */
const commands = [...guide.matchAll(/^curl -X [A-Z]+ "[^"]+"(?: \\\n-H "[^"]+")*(?: \\\n-d '[^']*')?/gm)].map(
  (m) => m[0],
);

const TOKEN = "docs-team-token";
let cp: ServedControlPlane;
let client: CodesphereClient;
let scratch: string;
const exchanges: Exchange[] = [];
let serviceId = "";

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=123`], operationDelayMs: 30 });
  client = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  scratch = mkdtempSync(join(tmpdir(), "landform-docs-"));
});

afterAll(async () => {
  await client?.close();
  await cp?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs one of the guide's commands with its placeholders filled in; returns status and body. */
function runGuideCommand(command: string): { status: number; body: string } {
  const filled = command
    .replaceAll("<your-codesphere-instance-url>", cp.url)
    .replaceAll("<your-codesphere-api-endpoint>", cp.apiUrl)
    .replaceAll("YOUR_API_TOKEN", TOKEN)
    .replaceAll("YOUR_SERVICE_ID", serviceId);
  const bodyFile = join(scratch, "body");
  const status = execFileSync("bash", ["-c", `${filled} -s -o '${bodyFile}' -w '%{http_code}'`], {
    encoding: "utf8",
  });
  const body = readFileSync(bodyFile, "utf8");
  const [, method, url] = /^curl -X ([A-Z]+) "([^"]+)"/.exec(filled)!;
  exchanges.push({ method: method!, path: new URL(url!).pathname, status: Number(status), body });
  return { status: Number(status), body };
}

describe("the published guide, verbatim", () => {
  it("has the five requests the lifecycle needs", () => {
    expect(commands.map((c) => /^curl -X ([A-Z]+)/.exec(c)?.[1])).toEqual([
      "POST",
      "PATCH",
      "PATCH",
      "PATCH",
      "DELETE",
    ]);
  });

  it("deploys: the service goes from creating to synchronized", async () => {
    const { status, body } = runGuideCommand(commands[0]!);
    expect(status, body).toBe(200);
    const created = JSON.parse(body) as ManagedService;
    expect(created).toMatchObject({ name: "my-postgres-db", status: { state: "creating" } });
    expect(created.provider).toEqual({ name: "postgresql", version: "v15", schemaVersion: "v15" });
    serviceId = created.id;
    await waitForState(client, serviceId, "synchronized", { timeoutMs: 20_000 });
  });

  it("updates config, plan, secrets and backups: updating, then synchronized", async () => {
    const { status, body } = runGuideCommand(commands[1]!);
    expect(status, body).toBe(200);
    expect((JSON.parse(body) as ManagedService).status.state).toBe("updating");
    const synced = await waitForState(client, serviceId, "synchronized", { timeoutMs: 20_000 });
    expect(synced.config).toMatchObject({ max_connections: "200" });
    expect(synced.plan).toMatchObject({ id: 2, parameters: { storage: 20 } });
    expect(synced.backups).toMatchObject({ enabled: true, intervalH: 12, deleteRetentionDays: 30 });
  });

  it("pauses and resumes, keeping the service's data", async () => {
    await cp.backend("PUT", `/api/v1/postgresql/${serviceId}/data/greeting`, { value: "hello" });
    expect(runGuideCommand(commands[2]!).status).toBe(200);
    await waitForState(client, serviceId, "paused", { timeoutMs: 20_000 });
    expect(runGuideCommand(commands[3]!).status).toBe(200);
    await waitForState(client, serviceId, "synchronized", { timeoutMs: 20_000 });
    expect((await cp.backend("GET", `/api/v1/postgresql/${serviceId}/data`)).body).toEqual({
      greeting: "hello",
    });
  });

  it("deletes with backups enabled as a soft delete: deletedAt set, listed only with includeDeleted", async () => {
    const { status } = runGuideCommand(commands[4]!);
    expect(status).toBe(200);
    const service = await client.managedServices.get(serviceId);
    expect(["deleting", "deleted"]).toContain(service.status.state);
    expect(service.status).toHaveProperty("deletedAt");
    expect((await client.managedServices.list({ team: 123 })).map((s) => s.id)).not.toContain(serviceId);
    expect(
      (await client.managedServices.list({ team: 123, includeDeleted: true })).map((s) => s.id),
    ).toContain(serviceId);
  });

  it("answered every request as the published OpenAPI document says, and never echoed a secret", () => {
    expect(exchanges.map(contractViolation).filter(Boolean)).toEqual([]);
    const everything = [cp.output, ...exchanges.map((x) => x.body)].join("\n");
    for (const secret of [
      "secure-password",
      "new-secure-password",
      "YOUR_S3_SECRET_KEY",
      "YOUR_S3_ACCESS_KEY",
    ]) {
      expect(everything).not.toContain(secret);
    }
  });
});
