/**
 * A `pulumi up` killed while a service is still being created (the CLI and
 * its plugins, SIGKILL): the service exists, the state does not know it.
 * Refresh and up must converge on that one service, never make a second.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import { finished, killGroup, PulumiProgram } from "./support/pulumi";
import { ServedControlPlane } from "./support/serve";

// The kill must land while the control plane still reports `creating`, which the
// operation delay sets; a real Redis would be up sooner. So: simulated engines.
process.env.LANDFORM_ENGINES = "simulated";

const TOKEN = "tok-Wd28-interrupt-river";

let cp: ServedControlPlane;
let api: CodesphereClient;
let pulumi: PulumiProgram;

const slowCache = {
  name: "slow-cache",
  provider: { name: "redis", version: "v1" },
  plan: { id: 0 },
  secrets: { password: "rpw-Nc31-thistle-bay" },
};

beforeAll(async () => {
  // Every backend operation takes 4 s: long enough to kill the CLI mid-create.
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 4000 });
  api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  pulumi = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN });
});

afterAll(async () => {
  pulumi?.remove();
  await api?.close();
  await cp?.close();
});

async function named(name: string) {
  return (await api.managedServices.list({ team: 1, includeDeleted: true })).filter((s) => s.name === name);
}

describe("an up killed in the middle of a create", () => {
  it("leaves the service being created and the state without it", async () => {
    pulumi.declare({ services: { cache: slowCache } });
    const up = pulumi.spawn(["up", "--yes", "--skip-preview"]);
    const done = finished(up, 120_000);
    const deadline = Date.now() + 60_000;
    while ((await named("slow-cache")).length === 0) {
      if (Date.now() > deadline) throw new Error(`the create never reached the API:\n${(await done).stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    killGroup(up, "SIGKILL");
    await done;
    // The kill landed in the middle of the create.
    expect((await named("slow-cache"))[0]?.status.state).toBe("creating");
    // Plugins run in process groups of their own and survive the CLI. Wait longer than
    // the create takes: a provider still running would finish it and forget the intent.
    // (Ours stops when its CLI is gone.) Then clear what else was left (the language host).
    // By then the control plane may have finished the create itself; the state must still
    // not know the service.
    await new Promise((r) => setTimeout(r, 5000));
    pulumi.killLeftovers();

    const services = await named("slow-cache");
    expect(services).toHaveLength(1);
    expect(await pulumi.managedServices()).toEqual({});
  });

  it("refresh, then up, converges on that same service with no duplicate", async () => {
    const [original] = await named("slow-cache");
    // The killed CLI left its lock on the stack, as it would on a laptop or a CI runner.
    await pulumi.run(["cancel", "--yes"]);
    // Non-interactive refresh keeps pending creates unless told; clearing them is safe here
    // because the provider recognises its own interrupted create.
    await pulumi.run(["refresh", "--yes", "--clear-pending-creates"]);
    await pulumi.up();

    const services = await named("slow-cache");
    expect(services).toHaveLength(1);
    expect(services[0]).toMatchObject({ id: original?.id, status: { state: "synchronized" } });
    expect((await pulumi.managedServices()).cache?.id).toBe(original?.id);
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  it("a service of the same name that this stack did not start is refused, naming adopt", async () => {
    const other = await api.managedServices.create({
      teamId: 1,
      name: "someone-elses-cache",
      provider: { name: "redis", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: {},
      secrets: { password: "rpw-Gv40-other-team" },
    });
    pulumi.declare({ services: { cache: slowCache, theirs: { ...slowCache, name: "someone-elses-cache" } } });
    const result = await pulumi.run(["up", "--yes", "--skip-preview"], { allowFailure: true });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain(
      `already has a managed service named "someone-elses-cache" (id ${other.id}`,
    );
    expect(result.stdout).toContain("adopt: true");

    pulumi.declare({
      services: { cache: slowCache, theirs: { ...slowCache, name: "someone-elses-cache", adopt: true } },
    });
    await pulumi.up();
    expect((await pulumi.managedServices()).theirs?.id).toBe(other.id);
    expect(await named("someone-elses-cache")).toHaveLength(1);
  });
});
