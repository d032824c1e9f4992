/**
 * The landform policy pack through the real Pulumi CLI: `pulumi preview
 * --policy-pack examples/policy` against `landform serve`, with the engine's
 * own analyzer plumbing (the language host starts the pack, the engine hands
 * it every ManagedService's checked inputs and the pack's config). Two
 * previews: one that a mandatory violation fails, one compliant stack that
 * passes while an advisory violation (tuned by a config file) is shown.
 * A missing CLI fails the suite (ensureTools throws), never skips it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PulumiProgram } from "./support/pulumi";
import { ROOT, ServedControlPlane } from "./support/serve";

const TOKEN = "tok-Wd41-policy-lantern";
const POLICY_PACK = path.join(ROOT, "examples", "policy");

let cp: ServedControlPlane;
let pulumi: PulumiProgram;

function postgres(extra: Record<string, unknown> = {}) {
  return {
    name: "orders-db",
    provider: { name: "postgres", version: "v1" },
    plan: { id: 0 },
    config: { version: "16.13", userName: "orders" },
    secrets: { userPassword: "upw-Tq28-policy-harbor", superuserPassword: "spw-Vb63-policy-quay" },
    ...extra,
  };
}

const backups = {
  intervalH: 24,
  deleteRetentionDays: 7,
  config: {
    endpointUrl: "https://s3.example.test",
    destinationPath: "s3://landform-backups/orders",
    accessKeyId: "AKIAPOLICYTEST",
  },
  secrets: { secretKey: "sk-Vb07-policy-quarry" },
};

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`] });
  pulumi = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN });
});

afterAll(async () => {
  pulumi?.remove();
  await cp?.close();
});

describe("landform/policy", () => {
  it("importing the module starts no policy server and loads no @pulumi/policy", () => {
    const script =
      `const p = require(${JSON.stringify(path.join(ROOT, "dist", "provider", "policy"))});` +
      `const loaded = Object.keys(require.cache).some((k) => k.includes("@pulumi/policy"));` +
      `console.log(JSON.stringify({ loaded, policies: p.managedServicePolicies.map((x) => x.name) }));`;
    const result = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 20_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      loaded: false,
      policies: [
        "codesphere-database-backups",
        "codesphere-no-secrets-in-config",
        "codesphere-plan-limits",
        "codesphere-no-pause-in-production",
      ],
    });
  });

  it("pulumi preview --policy-pack fails on a postgres without backups, naming the mandatory violation", async () => {
    pulumi.declare({ services: { db: postgres() } });
    const result = await pulumi.run(["preview", "--policy-pack", POLICY_PACK], { allowFailure: true });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.code, output).not.toBe(0);
    expect(output).toMatch(/\[mandatory\][^\n]*codesphere-database-backups/);
    expect(output).toContain("backups: postgres is a database and must have backups enabled");
    expect(output).not.toContain("upw-Tq28");
  });

  it("passes a compliant postgres; an advisory violation from the pack's config file is shown, not fatal", async () => {
    pulumi.declare({
      services: { db: postgres({ plan: { id: 1, parameters: { storage: 6144 } }, backups }) },
    });
    const configFile = path.join(pulumi.dir, "policy-config.json");
    fs.writeFileSync(
      configFile,
      JSON.stringify({ "codesphere-plan-limits": { maxPlanParameters: { postgres: { storage: 4096 } } } }),
    );
    const result = await pulumi.run(
      ["preview", "--policy-pack", POLICY_PACK, "--policy-pack-config", configFile],
      { allowFailure: true },
    );
    const output = `${result.stdout}\n${result.stderr}`;
    expect(result.code, output).toBe(0);
    expect(output).toMatch(/\[advisory\][^\n]*codesphere-plan-limits/);
    expect(output).toContain("plan.parameters.storage: 6144 is above the limit of 4096 for postgres");
    expect(output).not.toContain("[mandatory]");
    expect(output).not.toContain("sk-Vb07");
  });
});
