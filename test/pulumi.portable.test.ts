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
import { pathBoundProvider, secondFormatProvider } from "./support/pulumi-stubs";
import { ServedControlPlane } from "./support/serve";

process.env.LANDFORM_ENGINES = "simulated";

const TOKEN = "tok-Vb41-portable-lantern";
const FORMAT = "landform-pulumi-provider/3";
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

/** Rewrites the state as an earlier landform wrote it: `text` as every ManagedService's `__provider`. */
async function recordProvider(p: PulumiProgram, text: string): Promise<void> {
  const exported = JSON.parse(await p.exportText()) as {
    deployment: {
      resources: { type: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[];
    };
  };
  for (const r of exported.deployment.resources) {
    if (!r.type.endsWith(":ManagedService")) continue;
    r.inputs!.__provider = text;
    r.outputs!.__provider = text;
  }
  const file = path.join(p.dir, "earlier-state.json");
  fs.writeFileSync(file, JSON.stringify(exported));
  await p.run(["stack", "import", "--file", file]);
  expect((await providerTexts(p)).every((t) => t === text)).toBe(true);
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

describe("a state written by the earlier, path-bound stub", () => {
  it("still refreshes, and its next up rewrites it to find landform by package", async () => {
    const a = landformCopy();
    const p = await program(a);
    p.declare({ services: { old: cache("legacy-cache") } });
    await p.up();

    // Turn the state into what the earlier stub wrote: the absolute path of A's implementation.
    const legacy = pathBoundProvider(
      path.join(fs.realpathSync(a), "dist", "provider", "pulumi", "implementation.js"),
    );
    await recordProvider(p, legacy);

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

describe("a state written by the format-2 stub (landform before the state was made smaller)", () => {
  it("converges with no update, and its recorded stub still refreshes and destroys", async () => {
    const a = landformCopy();
    const p = await program(a);
    p.declare({ services: { second: cache("second-format-cache") } });
    await p.up();
    const own = (await providerTexts(p))[0]!;
    // The current stub is a fraction of the one it replaces (the engine rewrites state per step).
    expect(own).toContain(FORMAT);
    expect(own.length).toBeLessThan(secondFormatProvider().length * 0.5);

    const second = secondFormatProvider();
    await recordProvider(p, second);
    const before = await live("second-format-cache");

    // The program's stub differs from the recorded one, and that alone is no change.
    const preview = await p.preview();
    expect(preview.changeSummary).not.toHaveProperty("update");
    expect(preview.changeSummary).not.toHaveProperty("replace");
    await p.run(["up", "--yes", "--expect-no-changes"]);
    expect(await live("second-format-cache")).toMatchObject({ id: before?.id, config: before?.config });

    // The engine records the program's stub with the inputs and keeps the outputs' (a "same" step);
    // refresh and destroy run the outputs' one, and format 2 finds landform by package.
    const [inputs, outputs] = await providerTexts(p);
    expect(inputs).toBe(own);
    expect(outputs).toBe(second);
    await p.relocate(landformCopy("packed"));
    fs.rmSync(a, { recursive: true, force: true });
    await api.managedServices.update(before!.id, { config: { maxmemoryPolicy: "allkeys-lru" } });
    await p.run(["refresh", "--yes"]);
    expect((await p.managedServices()).second?.outputs?.config).toMatchObject({
      maxmemoryPolicy: "allkeys-lru",
    });
    await p.up();
    expect((await live("second-format-cache"))?.config).toMatchObject({ maxmemoryPolicy: "noeviction" });
    await p.run(["preview", "--expect-no-changes"]);
    await p.run(["destroy", "--yes"]);
    expect(await live("second-format-cache")).toBeUndefined();
  });
});
