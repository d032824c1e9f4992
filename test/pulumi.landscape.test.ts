/**
 * A Landscape whose teardown pauses its members instead of deleting them,
 * as the platform does: destroy leaves the services paused with their data,
 * and the next up takes them over again and resumes them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import { PulumiProgram } from "./support/pulumi";
import { ServedControlPlane } from "./support/serve";

const TOKEN = "tok-Ls64-landscape-fjord";

let cp: ServedControlPlane;
let api: CodesphereClient;
let pulumi: PulumiProgram;

function landscape(pause?: boolean) {
  return {
    teardown: "pause",
    ...(pause !== undefined ? { pause } : {}),
    services: {
      "ops-cache": {
        provider: { name: "redis", version: "v1" },
        plan: { id: 0 },
        secrets: { password: "ops-rpw-31x" },
      },
      "ops-files": {
        provider: { name: "s3", version: "v1" },
        plan: { id: 0 },
        config: { accessKey: "OPSFILES0000000000AA", initialBucketName: "ops-files" },
        secrets: { secretKey: "opsS3secret77q".padEnd(40, "0") },
      },
    },
  };
}

async function states(): Promise<Record<string, string>> {
  const all = await api.managedServices.list({ team: 1 });
  return Object.fromEntries(all.map((s) => [s.name, s.status.state]));
}

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 100 });
  api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  pulumi = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN });
});

afterAll(async () => {
  pulumi?.remove();
  await api?.close();
  await cp?.close();
});

describe("a landscape torn down with teardown: pause", () => {
  it("comes up with every member synchronized", async () => {
    pulumi.declare({ landscapes: { ops: landscape() } });
    await pulumi.up();
    expect(await states()).toEqual({ "ops-cache": "synchronized", "ops-files": "synchronized" });
    expect((await pulumi.outputs()).ops).toEqual({
      "ops-cache": "synchronized",
      "ops-files": "synchronized",
    });
  });

  it("destroy pauses the members and leaves them in place", async () => {
    const before = await api.managedServices.list({ team: 1 });
    await pulumi.run(["destroy", "--yes", "--skip-preview"]);
    expect(await pulumi.managedServices()).toEqual({});
    const after = await api.managedServices.list({ team: 1 });
    expect(after.map((s) => s.id).sort()).toEqual(before.map((s) => s.id).sort());
    expect(await states()).toEqual({ "ops-cache": "paused", "ops-files": "paused" });
  });

  it("the next up takes the paused members over again and resumes them", async () => {
    const before = (await api.managedServices.list({ team: 1 })).map((s) => s.id).sort();
    await pulumi.up();
    expect(await states()).toEqual({ "ops-cache": "synchronized", "ops-files": "synchronized" });
    expect((await api.managedServices.list({ team: 1 })).map((s) => s.id).sort()).toEqual(before);
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  it("a landscape-wide pause pauses every member and resumes them", async () => {
    pulumi.declare({ landscapes: { ops: landscape(true) } });
    await pulumi.up();
    expect(await states()).toEqual({ "ops-cache": "paused", "ops-files": "paused" });
    pulumi.declare({ landscapes: { ops: landscape(false) } });
    await pulumi.up();
    expect(await states()).toEqual({ "ops-cache": "synchronized", "ops-files": "synchronized" });
  });
});
