/**
 * The CDKTF constructs with the real cdktf CLI driving each real CLI of
 * test/support/terraform.ts (OpenTofu always, with no terraform on PATH;
 * Terraform when PATH has 1.11+; TERRAFORM_BINARY_NAME names it), mutual TLS
 * on, the provider from a filesystem mirror, against `landform serve`: the
 * example's synth output (snapshot and `validate`, JSON and HCL), and
 * deploy, diff, pause, replace and destroy of a stack.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import { ROOT, ServedControlPlane } from "./support/serve";
import {
  CDKTF,
  mustRun,
  RUNTIME_TIMEOUT_MS,
  readTree,
  terraformRuntimes,
  type Workspace,
  workspace,
} from "./support/terraform";

const TOKEN = "cdktf-token";
const SECRET = "pw-Cd44-juniper-kestrel";
const CACHE_SECRET = "cache-Cd45-saffron-wren";
const EXAMPLE = path.join(ROOT, "examples", "cdktf");

/** A small stack using the built constructs (dist/), steered by environment variables between deploys. */
const APP = `
const { App, TerraformOutput, TerraformStack } = require(${JSON.stringify(require.resolve("cdktf", { paths: [ROOT] }))});
const { CodesphereProvider, Landscape, ManagedService } = require(${JSON.stringify(path.join(ROOT, "dist", "provider", "cdktf", "index.js"))});

class Stack extends TerraformStack {
  constructor(scope, id) {
    super(scope, id);
    new CodesphereProvider(this, "codesphere", { apiUrl: process.env.TEST_API_URL, teamId: 1 });
    const db = new ManagedService(this, "db", {
      name: "cdktf-orders",
      providerName: "postgresql",
      providerVersion: process.env.TEST_DB_VERSION || "15",
      planId: 1,
      planParameters: { storage: 10 },
      config: { max_connections: "100" },
      secrets: { username: "app_cdktf", password: ${JSON.stringify(SECRET)} },
      pause: process.env.TEST_PAUSE === "1",
    });
    const landscape = new Landscape(this, "caching", {
      namePrefix: "cdktf-",
      services: {
        sessions: { providerName: "redis", providerVersion: "v1", planId: 0, secrets: { password: ${JSON.stringify(CACHE_SECRET)} } },
      },
    });
    new TerraformOutput(this, "db_id", { value: db.id });
    new TerraformOutput(this, "sessions_id", { value: landscape.services.sessions.id });
  }
}
const app = new App();
new Stack(app, "landform-test");
app.synth();
`;

/** Every runtime, resolved once (OpenTofu may be built on first use). */
const runtimes = terraformRuntimes();

// Synth does not depend on the CLI, so it runs once; its output is validated by each CLI.
describe("the example app's synth output", () => {
  const spaces: Workspace[] = [];
  afterAll(async () => {
    await Promise.all(spaces.map((s) => s.cleanup()));
  });

  it(
    "matches the snapshot and passes terraform validate, as JSON and as HCL",
    async () => {
      for (const runtime of runtimes) {
        spaces.push(workspace("cdktf-synth", { name: runtime.name, binary: await runtime.binary() }));
      }
      const ws = spaces[0]!;
      const synth = (args: string[]) =>
        mustRun(CDKTF, args, { cwd: EXAMPLE, env: ws.env, timeoutMs: 300_000 });
      const out = path.join(ws.dir, "example.out");
      const hclOut = path.join(ws.dir, "example-hcl.out");
      await synth(["synth", "--output", out]);
      const stackDir = path.join(out, "stacks", "shop-data");
      // The local backend's state path is absolute: name the checkout's root, not where it happens to be.
      const text = fs.readFileSync(path.join(stackDir, "cdk.tf.json"), "utf8");
      const json = JSON.parse(text.replaceAll(path.resolve(__dirname, ".."), "<repo>"));
      expect(json).toMatchSnapshot();

      await synth(["synth", "--hcl", "--output", hclOut]);
      const hclDir = path.join(hclOut, "stacks", "shop-data");
      const hcl = fs.readFileSync(path.join(hclDir, "cdk.tf"), "utf8");
      expect(hcl).toContain('resource "codesphere_managed_service" "orders-db"');
      expect(hcl).toMatch(/max_connections = "200"/); // a string stays a string in HCL

      for (const space of spaces) {
        for (const dir of [stackDir, hclDir]) {
          fs.rmSync(path.join(dir, ".terraform"), { recursive: true, force: true });
          fs.rmSync(path.join(dir, ".terraform.lock.hcl"), { force: true });
          const opts = { cwd: dir, env: space.env };
          await mustRun(space.terraform, ["init", "-no-color", "-backend=false"], opts);
          const validate = await mustRun(space.terraform, ["validate", "-no-color"], opts);
          expect(validate.stdout, `${space.runtime} validate`).toContain("The configuration is valid.");
        }
      }
    },
    RUNTIME_TIMEOUT_MS,
  );
});

describe.each(runtimes.map((r) => [r.name, r] as const))("cdktf with %s", (_name, runtime) => {
  let cp: ServedControlPlane;
  let ws: Workspace;
  let client: CodesphereClient;

  async function cdktf(args: string[], env: Record<string, string> = {}, cwd = ws.dir) {
    return mustRun(CDKTF, args, { cwd, env: { ...ws.env, ...env }, timeoutMs: 300_000 });
  }

  function outputs(): Record<string, string> {
    const state = JSON.parse(
      fs.readFileSync(path.join(ws.dir, "terraform.landform-test.tfstate"), "utf8"),
    ) as {
      outputs: Record<string, { value: string }>;
    };
    return Object.fromEntries(Object.entries(state.outputs).map(([k, v]) => [k, v.value]));
  }

  beforeAll(async () => {
    ws = workspace("cdktf", { name: runtime.name, binary: await runtime.binary() }, { CS_TOKEN: TOKEN });
    cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 20 });
    ws.env.TEST_API_URL = cp.apiUrl;
    client = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
    fs.writeFileSync(path.join(ws.dir, "main.js"), APP);
    fs.writeFileSync(
      path.join(ws.dir, "cdktf.json"),
      JSON.stringify({
        language: "typescript",
        app: "node main.js",
        sendCrashReports: "false",
        terraformProviders: [],
      }),
    );
  }, RUNTIME_TIMEOUT_MS);

  afterAll(async () => {
    await client?.close();
    await cp?.close();
    await ws?.cleanup();
  });

  describe("cdktf deploy with the codesphere provider", () => {
    it("creates the services, which the control plane shows synchronized", async () => {
      const deployed = await cdktf(["deploy", "--auto-approve", "--skip-provider-lock"]);
      expect(deployed.stdout).toContain("Apply complete! Resources: 2 added");
      for (const id of Object.values(outputs())) {
        expect((await client.managedServices.get(id)).status.state).toBe("synchronized");
      }
    });

    it("shows no changes on a second diff", async () => {
      const diff = await cdktf(["diff", "--skip-provider-lock"]);
      expect(diff.stdout).toContain("No changes.");
    });

    it("pauses in place when pause is toggled", async () => {
      const before = outputs().db_id!;
      const deployed = await cdktf(["deploy", "--auto-approve", "--skip-provider-lock"], { TEST_PAUSE: "1" });
      expect(deployed.stdout).toContain("0 added, 1 changed, 0 destroyed");
      expect(outputs().db_id).toBe(before);
      expect((await client.managedServices.get(before)).status.state).toBe("paused");
    });

    it("replaces the service when an immutable field changes", async () => {
      const before = outputs().db_id!;
      const deployed = await cdktf(["deploy", "--auto-approve", "--skip-provider-lock"], {
        TEST_PAUSE: "1",
        TEST_DB_VERSION: "16",
      });
      expect(deployed.stdout).toContain("1 added, 0 changed, 1 destroyed");
      const after = outputs().db_id!;
      expect(after).not.toBe(before);
      expect((await client.managedServices.get(after)).provider.schemaVersion).toBe("v16");
    });

    it("keeps the secrets out of the state", () => {
      const written = readTree(
        ws.dir,
        (name) => name === "main.js" || name === "cdktf.out" || name.endsWith(".out"),
      );
      expect(written).toContain('"secret_fingerprints"');
      expect(written).not.toContain(SECRET);
      expect(written).not.toContain(CACHE_SECRET);
    });

    it("deletes every service on cdktf destroy", async () => {
      const ids = Object.values(outputs());
      const destroyed = await cdktf(["destroy", "--auto-approve"], {
        TEST_PAUSE: "1",
        TEST_DB_VERSION: "16",
      });
      expect(destroyed.stdout).toContain("Destroy complete! Resources: 2 destroyed.");
      for (const id of ids) {
        const gone = await client.managedServices.get(id).catch(() => undefined);
        expect(gone === undefined || ["deleted", "deleting"].includes(gone.status.state)).toBe(true);
      }
    });
  });
});
