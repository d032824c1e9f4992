/**
 * CDK Terrain: the example app (examples/cdktn, built on landform/cdktn) with
 * the real cdktn CLI (on Node.js 22 when the running Node is older) and the
 * real terraform against `landform serve`: its synth output passes `terraform validate` as JSON and as HCL
 * (backups on, a nested attribute); it deploys, plans no changes, pauses the
 * database in place and destroys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import { CDKTN, cdktnEnv, runsCdktnCli } from "./support/cdk";
import { ROOT, ServedControlPlane } from "./support/serve";
import { anyRuntime, mustRun, readTree, type Workspace, workspace } from "./support/terraform";

const TOKEN = "cdktn-token";
const DB_SECRET = "notes-Cn71-heron-lattice";
const CACHE_SECRET = "cache-Cn72-quartz-finch";
const EXAMPLE = path.join(ROOT, "examples", "cdktn");
const COMPILED = path.join(ROOT, "dist", "examples-cdktn", "examples", "cdktn", "main.js");
const STACK = "notes-data";

let cp: ServedControlPlane;
let ws: Workspace;
let env: NodeJS.ProcessEnv;
let client: CodesphereClient;

async function cdktn(args: string[], extra: Record<string, string> = {}) {
  return mustRun(CDKTN, args, { cwd: ws.dir, env: { ...env, ...extra }, timeoutMs: 300_000 });
}

function outputs(): Record<string, unknown> {
  const file = path.join(ws.dir, `terraform.${STACK}.tfstate`);
  const state = JSON.parse(fs.readFileSync(file, "utf8")) as { outputs: Record<string, { value: unknown }> };
  return Object.fromEntries(Object.entries(state.outputs).map(([k, v]) => [k, v.value]));
}

beforeAll(async () => {
  ws = workspace("cdktn", await anyRuntime(), {
    CS_TOKEN: TOKEN,
    CS_TEAM_ID: "1",
    NOTES_DB_PASSWORD: DB_SECRET,
    NOTES_CACHE_PASSWORD: CACHE_SECRET,
  });
  env = await cdktnEnv(ws);
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 20 });
  env.CS_API = cp.apiUrl;
  client = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  // The example's own first step (its cdktf.json: tsc, then node); the app then runs in the workspace.
  await mustRun(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json"], {
    cwd: EXAMPLE,
    env: ws.env,
  });
  const config = JSON.parse(fs.readFileSync(path.join(EXAMPLE, "cdktf.json"), "utf8"));
  fs.writeFileSync(
    path.join(ws.dir, "cdktf.json"),
    JSON.stringify({ ...config, app: `node ${JSON.stringify(COMPILED)}` }),
  );
});

afterAll(async () => {
  await client?.close();
  await cp?.close();
  await ws?.cleanup();
});

describe("the CDK Terrain example", () => {
  it("runs on Node.js 22.19 or later, which the cdktn CLI needs", async () => {
    const version = await mustRun("node", ["--version"], { cwd: ws.dir, env });
    expect(runsCdktnCli(version.stdout.trim().slice(1))).toBe(true);
  });

  it("synthesizes a configuration terraform validates, as JSON and as HCL", async () => {
    const backups = { NOTES_BACKUP_ENDPOINT: "http://s3.example", NOTES_BACKUP_SECRET_KEY: "k" };
    for (const hcl of [false, true]) {
      const out = path.join(ws.dir, hcl ? "synth-hcl.out" : "synth-json.out");
      await cdktn(["synth", "--output", out, ...(hcl ? ["--hcl"] : [])], backups);
      const dir = path.join(out, "stacks", STACK);
      const text = fs.readFileSync(path.join(dir, hcl ? "cdk.tf" : "cdk.tf.json"), "utf8");
      if (hcl) {
        // A nested attribute is an object value (`backups = {`); a block (`timeouts {`) stays a block.
        expect(text).toMatch(/backups = \{/);
        expect(text).toMatch(/timeouts \{/);
      } else {
        const db = JSON.parse(text).resource.codesphere_managed_service["notes-db"];
        expect(db.timeouts).toEqual({ create: "30m", delete: "15m" });
        expect(db.backups).toMatchObject({ enabled: true, interval_h: 24 });
      }
      await mustRun(ws.terraform, ["init", "-no-color", "-backend=false"], { cwd: dir, env: ws.env });
      const validate = await mustRun(ws.terraform, ["validate", "-no-color"], { cwd: dir, env: ws.env });
      expect(validate.stdout).toContain("The configuration is valid.");
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("cdktn deploy with the codesphere provider", () => {
  it("creates the services, which the control plane shows synchronized", async () => {
    const deployed = await cdktn(["deploy", "--auto-approve", "--skip-provider-lock"]);
    expect(deployed.stdout).toContain("Apply complete! Resources: 2 added");
    const o = outputs();
    expect(o.db_status).toBe("synchronized");
    for (const id of [o.db_id, o.sessions_id] as string[]) {
      expect((await client.managedServices.get(id)).status.state).toBe("synchronized");
    }
  });

  it("plans no changes on a second run", async () => {
    const diff = await cdktn(["diff", "--skip-provider-lock"]);
    expect(diff.stdout).toContain("No changes.");
  });

  it("pauses the database in place", async () => {
    const before = outputs().db_id as string;
    const deployed = await cdktn(["deploy", "--auto-approve", "--skip-provider-lock"], { NOTES_PAUSED: "1" });
    expect(deployed.stdout).toContain("0 added, 1 changed, 0 destroyed");
    expect(outputs().db_id).toBe(before);
    expect((await client.managedServices.get(before)).status.state).toBe("paused");
  });

  it("keeps the secrets out of the state", () => {
    const written = readTree(
      ws.dir,
      (name) => name === "cdktf.json" || name.endsWith(".out") || name === ".tools",
    );
    expect(written).toContain('"secret_fingerprints"');
    expect(written).not.toContain(DB_SECRET);
    expect(written).not.toContain(CACHE_SECRET);
  });

  it("deletes every service on cdktn destroy", async () => {
    const o = outputs();
    const destroyed = await cdktn(["destroy", "--auto-approve"], { NOTES_PAUSED: "1" });
    expect(destroyed.stdout).toContain("Destroy complete! Resources: 2 destroyed.");
    for (const id of [o.db_id, o.sessions_id] as string[]) {
      const gone = await client.managedServices.get(id).catch(() => undefined);
      expect(gone === undefined || ["deleted", "deleting"].includes(gone.status.state)).toBe(true);
    }
  });
});
