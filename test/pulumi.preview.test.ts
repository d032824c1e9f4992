/**
 * What a preview of an in-place update knows, through the real CLI. The
 * program logs each output of a ManagedService that is known while it runs
 * (LANDFORM_TEST_KNOWN=1; `apply` skips unknown values in a preview).
 *
 * Pulumi 3.248's Node.js dynamic provider host announces no preview support
 * and drops the `stables` that diff returns, so in a preview of an update the
 * engine hands the program the checked inputs as outputs: every output that
 * mirrors an input is known (the changed ones with their new value), the
 * outputs only the platform reports (status, details, createdAt) are not.
 * The test holds both halves, so a change on either side shows.
 *
 * Only the provider matters here: simulated engines (LANDFORM_ENGINES=simulated).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PulumiProgram } from "./support/pulumi";
import { ServedControlPlane } from "./support/serve";

process.env.LANDFORM_ENGINES = "simulated";

const TOKEN = "tok-Hs73-preview-meadow";

let cp: ServedControlPlane;
let pulumi: PulumiProgram;

const cache = (policy: string) => ({
  name: "preview-cache",
  provider: { name: "redis", version: "v1" },
  plan: { id: 0 },
  config: { maxmemoryPolicy: policy },
  secrets: { password: "rpw-Lw64-preview-fern" },
});

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`] });
  pulumi = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN, env: { LANDFORM_TEST_KNOWN: "1" } });
});

afterAll(async () => {
  pulumi?.remove();
  await cp?.close();
});

function known(output: string): string[] {
  return [...new Set([...output.matchAll(/known cache\.(\w+)/g)].map((m) => m[1]!))].sort();
}

describe("a preview of an in-place update", () => {
  it("knows every output that mirrors an input, the changed config with its new value", async () => {
    pulumi.declare({ services: { cache: cache("noeviction") } });
    await pulumi.up();

    pulumi.declare({ services: { cache: cache("allkeys-lru") } });
    const plan = await pulumi.preview();
    expect(plan.steps.find((s) => s.urn.endsWith("::cache"))?.op).toBe("update");
    const { stdout } = await pulumi.run(["preview"]);
    expect(known(stdout)).toEqual(["config", "id", "name", "pause", "plan", "provider", "teamId"]);
    const diff = await pulumi.run(["preview", "--diff"]);
    expect(diff.stdout).toContain('maxmemoryPolicy: "noeviction" => "allkeys-lru"');
  });
});
