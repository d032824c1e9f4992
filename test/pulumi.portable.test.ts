/**
 * A stack's state does not tie it to the landform it was deployed with: the
 * real Pulumi CLI deploys from a project whose `landform` is a copy of this
 * checkout at path A, then the project moves to another folder whose
 * `landform` is the packed package (npm pack) at path B, A is deleted, and refresh, preview and destroy work with nothing rewritten by
 * hand. A program that loads landform by path records that path only as a
 * fallback. A state written by the earlier stub (an absolute path in
 * `__provider`) still refreshes and is rewritten by its next `pulumi up`.
 *
 * Only the provider's loading is under test, so the control plane runs with
 * simulated engines (LANDFORM_ENGINES=simulated): no real Redis is started.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import { copyLandform, packLandform } from "./support/landform-copies";
import { PulumiProgram } from "./support/pulumi";
import { ServedControlPlane } from "./support/serve";

process.env.LANDFORM_ENGINES = "simulated";

const TOKEN = "tok-Vb41-portable-lantern";
const FORMAT = "landform-pulumi-provider/2";
const cache = (name: string, policy = "noeviction") => ({
  name,
  provider: { name: "redis", version: "v1" },
  plan: { id: 0 },
  config: { maxmemoryPolicy: policy },
  secrets: { password: "rpw-Gz80-portable-cove" },
});

let cp: ServedControlPlane;
let api: CodesphereClient;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`] });
  api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) c();
  await api?.close();
  await cp?.close();
});

function landformCopy(how: "checkout" | "packed" = "checkout"): string {
  const dir = how === "packed" ? packLandform() : copyLandform();
  const removed = how === "packed" ? path.dirname(dir) : dir;
  cleanups.push(() => fs.rmSync(removed, { recursive: true, force: true }));
  return dir;
}

async function program(landform: string): Promise<PulumiProgram> {
  const p = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN, landform });
  cleanups.push(() => p.remove());
  return p;
}

async function live(name: string) {
  return (await api.managedServices.list({ team: 1 })).find((s) => s.name === name);
}

/** The `__provider` text of every recorded ManagedService (inputs and outputs). */
async function providerTexts(p: PulumiProgram): Promise<string[]> {
  return Object.values(await p.managedServices()).flatMap((r) => [
    String(r.inputs?.__provider),
    String(r.outputs?.__provider),
  ]);
}

describe("a stack moves between copies of landform", () => {
  it("deployed with a checkout at A, refreshed, updated and destroyed with a packed install at B after A is gone", async () => {
    const a = landformCopy();
    const p = await program(a);
    p.declare({ services: { kept: cache("portable-kept"), dropped: cache("portable-dropped") } });
    await p.up();
    const kept = await live("portable-kept");
    expect(kept?.status.state).toBe("synchronized");

    // The state names landform by package only: no path of A, nor of this checkout.
    for (const text of await providerTexts(p)) {
      expect(text).toContain(FORMAT);
      expect(text).not.toContain(a);
      expect(text).not.toContain(path.resolve(__dirname, ".."));
    }
    expect(await p.exportText()).not.toContain(a);

    const b = landformCopy("packed");
    await p.relocate(b);
    fs.rmSync(a, { recursive: true, force: true });

    // Refresh runs the provider recorded in state, for every resource.
    await api.managedServices.update(kept!.id, { config: { maxmemoryPolicy: "allkeys-lru" } });
    await p.run(["refresh", "--yes"]);
    expect((await p.managedServices()).kept?.outputs?.config).toMatchObject({
      maxmemoryPolicy: "allkeys-lru",
    });

    // The program now runs with B; the drift is put back, nothing else changes.
    await p.up();
    expect((await live("portable-kept"))?.config).toMatchObject({ maxmemoryPolicy: "noeviction" });
    await p.run(["preview", "--expect-no-changes"]);

    // A resource the program no longer declares is deleted by the provider recorded in state.
    p.declare({ services: { kept: cache("portable-kept") } });
    await p.up();
    expect(await live("portable-dropped")).toBeUndefined();

    await p.run(["destroy", "--yes"]);
    expect(await live("portable-kept")).toBeUndefined();
  });
});

describe("a program that loads landform by path, as from a checkout", () => {
  it("records the path only as a fallback: with it gone, refresh and destroy find the package", async () => {
    const a = landformCopy();
    const p = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN, landformByPath: a });
    cleanups.push(() => p.remove());
    p.declare({ services: { cache: cache("by-path-cache") } });
    await p.up();
    for (const text of await providerTexts(p)) {
      expect(text).toContain(FORMAT);
      expect(text).toContain(fs.realpathSync(a));
    }

    // The moved project still loads A by path, but refresh and destroy run the stub in state.
    await p.relocate(landformCopy("packed"));
    fs.rmSync(a, { recursive: true, force: true });
    const service = await live("by-path-cache");
    await api.managedServices.update(service!.id, { config: { maxmemoryPolicy: "allkeys-lru" } });
    await p.run(["refresh", "--yes"]);
    expect((await p.managedServices()).cache?.outputs?.config).toMatchObject({
      maxmemoryPolicy: "allkeys-lru",
    });
    await p.run(["destroy", "--yes"]);
    expect(await live("by-path-cache")).toBeUndefined();
  });
});

/** The stub landform wrote before (provider.ts with IMPLEMENTATION), as Pulumi serialized it. */
function legacyProvider(implementation: string): string {
  const call = (name: string, params: string, body: string) => `function ${name}(${params}) {
  return (function() {
    with({ load: __load, this: undefined, arguments: undefined }) {

return ${body};

    }
  }).apply(undefined, undefined).apply(this, arguments);
}
`;
  return `exports.handler = __f0;

var __provider = {check: __f1, diff: __f2, create: __f3, read: __f4, update: __f5, delete: __f6};

function __load() {
  return (function() {
    with({ IMPLEMENTATION: ${JSON.stringify(implementation)}, load: __load, this: undefined, arguments: undefined }) {

return function /*load*/() {
    return require(IMPLEMENTATION);
};

    }
  }).apply(undefined, undefined).apply(this, arguments);
}

${call("__f1", "__0, __1", "(olds, news) => load().check(olds, news)")}
${call("__f2", "__0, __1, __2", "(id, olds, news) => load().diff(id, olds, news)")}
${call("__f3", "__0", "(inputs) => load().create(inputs)")}
${call("__f4", "__0, __1", "(id, props) => load().read(id, props)")}
${call("__f5", "__0, __1, __2", "(id, olds, news) => load().update(id, olds, news)")}
${call("__f6", "__0, __1", "(id, props) => load().remove(id, props)")}
function __f0() {
  return (function() {
    with({ provider: __provider, this: undefined, arguments: undefined }) {

return () => provider;

    }
  }).apply(undefined, undefined).apply(this, arguments);
}
`;
}

describe("a state written by the earlier, path-bound stub", () => {
  it("still refreshes, and its next up rewrites it to find landform by package", async () => {
    const a = landformCopy();
    const p = await program(a);
    p.declare({ services: { old: cache("legacy-cache") } });
    await p.up();

    // Turn the state into what the earlier stub wrote: the absolute path of A's implementation.
    const legacy = legacyProvider(
      path.join(fs.realpathSync(a), "dist", "provider", "pulumi", "implementation.js"),
    );
    const exported = JSON.parse(await p.exportText()) as {
      deployment: {
        resources: { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[];
      };
    };
    for (const r of exported.deployment.resources) {
      if (!r.type.endsWith(":ManagedService")) continue;
      r.inputs!.__provider = legacy;
      r.outputs!.__provider = legacy;
    }
    const file = path.join(p.dir, "legacy-state.json");
    fs.writeFileSync(file, JSON.stringify(exported));
    await p.run(["stack", "import", "--file", file]);
    expect(await providerTexts(p)).toEqual([legacy, legacy]);

    // The old stub loads A's implementation.js, which keeps its path and exports.
    await p.run(["refresh", "--yes"]);

    // Moved to B with A gone: the program's provider does the diff and the update, and the
    // update records the new stub (nothing is sent to the API: the settings did not change).
    const b = landformCopy();
    await p.relocate(b);
    fs.rmSync(a, { recursive: true, force: true });
    // What docs/pulumi.md says: the old stub cannot refresh once its path is gone...
    const stale = await p.run(["refresh", "--yes"], { allowFailure: true });
    expect(stale.code).not.toBe(0);
    expect(stale.stdout + stale.stderr).toContain("Cannot find module");
    // ...but an up with the resource still declared runs the program's provider.
    const before = await live("legacy-cache");
    const preview = await p.preview();
    expect(preview.changeSummary).toMatchObject({ update: 1 });
    await p.up();
    for (const text of await providerTexts(p)) {
      expect(text).toContain(FORMAT);
      expect(text).not.toContain(a);
    }
    expect(await live("legacy-cache")).toMatchObject({ id: before?.id, config: before?.config });
    await p.run(["preview", "--expect-no-changes"]);
    await p.run(["refresh", "--yes"]);
    await p.run(["destroy", "--yes"]);
    expect(await live("legacy-cache")).toBeUndefined();
  });
});
