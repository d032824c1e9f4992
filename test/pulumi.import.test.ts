/**
 * Taking over services made outside Pulumi, and Pulumi's resource options,
 * through the real CLI: the `import` resource option adopts a service by id
 * without changing it (and refuses, naming the field, when the program does
 * not describe it), after which `pulumi up` has nothing to do; `pulumi
 * import` of a dynamic resource fails in Pulumi's own provider host
 * (pulumi/pulumi#16175), which docs/pulumi.md says; `customTimeouts` sets the
 * provider's deadlines.
 *
 * Only the control plane's behaviour matters here, so it runs with simulated
 * engines (LANDFORM_ENGINES=simulated). Each backend operation takes 1.5 s,
 * long enough for a 300 ms create deadline to run out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient, waitForState } from "../sdk";
import { PulumiProgram } from "./support/pulumi";
import { ServedControlPlane } from "./support/serve";

process.env.LANDFORM_ENGINES = "simulated";

const TOKEN = "tok-Jm58-import-harbor";
const PASSWORD = "rpw-Tq27-import-willow";

let cp: ServedControlPlane;
let api: CodesphereClient;
let pulumi: PulumiProgram;
/** The service made through the API and imported. */
let id: string;

const cache = (name: string, policy: string) => ({
  name,
  provider: { name: "redis", version: "v1" },
  plan: { id: 0 },
  config: { maxmemoryPolicy: policy },
  secrets: { password: PASSWORD },
});

async function named(name: string) {
  return (await api.managedServices.list({ team: 1 })).filter((s) => s.name === name);
}

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 1500 });
  api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  pulumi = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN });
});

afterAll(async () => {
  pulumi?.remove();
  await api?.close();
  await cp?.close();
});

describe("the import resource option", () => {
  it("refuses a program that does not describe the service, naming the field, and changes nothing", async () => {
    const made = await api.managedServices.create({
      teamId: 1,
      name: "made-elsewhere",
      provider: { name: "redis", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: { maxmemoryPolicy: "volatile-lru" },
      secrets: { password: PASSWORD },
    });
    id = made.id;
    await waitForState(api, id, "synchronized", { timeoutMs: 30_000 });

    pulumi.declare({
      services: { cache: cache("made-elsewhere", "allkeys-lru") },
      options: { cache: { import: id } },
    });
    const result = await pulumi.run(["up", "--yes", "--skip-preview"], { allowFailure: true });
    expect(result.code).not.toBe(0);
    const output = result.stdout + result.stderr;
    expect(output).toContain(`import of managed service ${id}`);
    expect(output).toContain('config.maxmemoryPolicy (declared "allkeys-lru", service "volatile-lru")');
    expect(await named("made-elsewhere")).toMatchObject([
      { id, config: { maxmemoryPolicy: "volatile-lru" } },
    ]);
    expect(await pulumi.managedServices()).toEqual({});
  });

  it("adopts the service by id when the program describes it; then up has nothing to do", async () => {
    const before = (await named("made-elsewhere"))[0]!;
    pulumi.declare({
      services: { cache: cache("made-elsewhere", "volatile-lru") },
      options: { cache: { import: id } },
    });
    await pulumi.up();
    expect((await pulumi.managedServices()).cache?.id).toBe(id);
    // Taken over, not made again, and not touched.
    expect(await named("made-elsewhere")).toEqual([before]);
    await pulumi.run(["preview", "--expect-no-changes"]);

    // The option may stay or go, as with any Pulumi import.
    pulumi.declare({ services: { cache: cache("made-elsewhere", "volatile-lru") } });
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  it("leaves a service the stack now manages like any other: an edit updates it in place", async () => {
    pulumi.declare({ services: { cache: cache("made-elsewhere", "allkeys-lru") } });
    await pulumi.up();
    expect(await named("made-elsewhere")).toMatchObject([{ id, config: { maxmemoryPolicy: "allkeys-lru" } }]);
  });
});

describe("pulumi import", () => {
  it("fails for a dynamic resource in Pulumi's own provider host and leaves the stack as it was", async () => {
    const before = await pulumi.exportText();
    const result = await pulumi.run(
      ["import", "pulumi-nodejs:dynamic/codesphere:ManagedService", "again", id, "--yes"],
      { allowFailure: true },
    );
    expect(result.code).not.toBe(0);
    // The engine reads an imported resource without its state; the host finds no properties to load.
    expect(result.stdout + result.stderr).toContain("reading 'toJavaScript'");
    expect(JSON.parse(await pulumi.exportText())).toEqual(JSON.parse(before));
  });
});

describe("customTimeouts", () => {
  it("sets the provider's deadlines: a 300 ms create runs out, a 1 m one finishes the same service", async () => {
    const slow = { ...cache("deadline-cache", "noeviction") };
    pulumi.declare({
      services: { cache: cache("made-elsewhere", "allkeys-lru"), slow },
      options: { slow: { customTimeouts: { create: "300ms" } } },
    });
    const result = await pulumi.run(["up", "--yes", "--skip-preview"], { allowFailure: true });
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/was created but is not ready/);
    const recorded = (await pulumi.managedServices()).slow;
    expect(recorded?.inputs?.timeouts).toEqual({ create: "300ms" });

    // `timeouts` on the resource wins key by key; customTimeouts fills in the rest.
    pulumi.declare({
      services: {
        cache: cache("made-elsewhere", "allkeys-lru"),
        slow: { ...slow, timeouts: { update: "2m" } },
      },
      options: { slow: { customTimeouts: { create: "1m", update: "5s" } } },
    });
    await pulumi.up();
    const services = await named("deadline-cache");
    expect(services).toHaveLength(1);
    expect(services[0]?.id).toBe(recorded?.id);
    expect((await pulumi.managedServices()).slow?.inputs?.timeouts).toEqual({ create: "1m", update: "2m" });
  });
});
