/**
 * The CDK bindings landform ships (landform/cdktf, landform/cdktn) against
 * what the real tools make of the real provider: the schema the generator
 * reads is the one `terraform providers schema -json` prints for the plugin;
 * the classes, props, getters, setters, `*Input` getters and the timeouts
 * block have the shape `cdktf get` and `cdktn get` generate (compared member
 * by member with the TypeScript compiler); and the same stack written with
 * either synthesizes the same configuration. Any drift between the schema,
 * our generator and the CDK tools' conventions fails here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerSchemaJson } from "../provider/cdk/schema-json";
import {
  CDKTF_CLI,
  CDKTN,
  cdktnEnv,
  generateWithCli,
  type ModuleShape,
  moduleShapes,
  transpileTree,
} from "./support/cdk";
import { ROOT } from "./support/serve";
import { anyRuntime, mustRun, PROVIDER_SOURCE, type Workspace, workspace } from "./support/terraform";

const LIBRARIES = ["cdktf", "cdktn"] as const;
type Library = (typeof LIBRARIES)[number];

let ws: Workspace;
const generated: Partial<Record<Library, string>> = {};

beforeAll(async () => {
  ws = workspace("cdk-bindings", await anyRuntime());
  generated.cdktf = (await generateWithCli(CDKTF_CLI, path.join(ws.dir, "cdktf"), ws.env)).dir;
  generated.cdktn = (await generateWithCli(CDKTN, path.join(ws.dir, "cdktn"), await cdktnEnv(ws))).dir;
});

afterAll(() => ws?.cleanup());

/** Our module for each module of `<cli> get`, and the names only ours has (on purpose). */
const MODULES: { theirs: string; ours: string; extra: string[] }[] = [
  {
    theirs: "managed-service/index.ts",
    ours: "managed-service.ts",
    extra: ["ManagedServiceInputs", "ManagedServiceProps", "validateManagedServiceProps"],
  },
  { theirs: "provider/index.ts", ours: "generated/provider.ts", extra: [] },
  { theirs: "data-codesphere-providers/index.ts", ours: "generated/data-codesphere-providers.ts", extra: [] },
];

describe("the schema the bindings are generated from", () => {
  it("is what terraform providers schema -json prints for the real plugin", async () => {
    const dir = path.join(ws.dir, "schema");
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, "main.tf"),
      `terraform {\n  required_providers {\n    codesphere = { source = "${PROVIDER_SOURCE}" }\n  }\n}\n`,
    );
    await mustRun(ws.terraform, ["init", "-no-color"], { cwd: dir, env: ws.env });
    const printed = await mustRun(ws.terraform, ["providers", "schema", "-json"], { cwd: dir, env: ws.env });
    const theirs = JSON.parse(printed.stdout).provider_schemas[PROVIDER_SOURCE];
    expect(theirs.resource_schemas.codesphere_managed_service.block.block_types.timeouts).toBeDefined();
    expect(theirs).toEqual(providerSchemaJson());
  });
});

describe.each(LIBRARIES)("landform/%s", (library) => {
  it(`has the shape of the bindings ${library} get generates`, () => {
    const theirDir = generated[library]!;
    const ourDir = path.join(ROOT, "provider", library);
    const files = MODULES.flatMap((m) => [path.join(theirDir, m.theirs), path.join(ourDir, m.ours)]);
    const shapes = moduleShapes([...files, path.join(theirDir, "index.ts"), path.join(ourDir, "index.ts")]);
    for (const m of MODULES) {
      const theirs = shapes[path.join(theirDir, m.theirs)] as ModuleShape;
      const ours = shapes[path.join(ourDir, m.ours)] as ModuleShape;
      for (const [name, shape] of Object.entries(theirs)) {
        expect({ name, ...ours[name] }).toEqual({ name, ...shape });
      }
      const extra = Object.keys(ours).filter((n) => !(n in theirs));
      expect(extra.sort()).toEqual(m.extra);
    }
    // The comparison above covered what CDK users rely on most.
    const resource = (shapes[path.join(theirDir, "managed-service/index.ts")] as ModuleShape).ManagedService!;
    for (const member of [
      "static tfResourceType",
      "static generateConfigForImport",
      "id",
      "details",
      "nameInput",
    ]) {
      expect(resource.members).toHaveProperty([member]);
    }
    expect(resource.members.putTimeouts).toBe("method (value: ManagedServiceTimeouts) => void");
    expect(resource.members.timeoutsInput).toBe("get IResolvable | ManagedServiceTimeouts | undefined");
    // The namespaces of `.gen/providers/codesphere/index.ts`.
    const ourIndex = shapes[path.join(ourDir, "index.ts")] as ModuleShape;
    for (const ns of Object.keys(shapes[path.join(theirDir, "index.ts")] as ModuleShape)) {
      expect(ourIndex).toHaveProperty([ns]);
    }
  });

  it(`synthesizes what the bindings ${library} get generates synthesize`, () => {
    transpileTree(generated[library]!);
    // biome-ignore-start lint/suspicious/noExplicitAny: both bindings are loaded at run time
    const cdk = require(library) as any;
    const theirs = require(generated[library]!) as any;
    const ours = require(path.join(ROOT, "dist", "provider", library, "index.js")) as any;
    // biome-ignore-end lint/suspicious/noExplicitAny: both bindings are loaded at run time
    const stackWith = (b: typeof theirs) => {
      const stack = new cdk.TerraformStack(cdk.Testing.app(), "s");
      new b.provider.CodesphereProvider(stack, "codesphere", {
        apiUrl: "http://cp/api",
        teamId: 3,
        alias: "a",
      });
      const svc = new b.managedService.ManagedService(stack, "db", {
        name: "orders",
        providerName: "postgres",
        providerVersion: "v1",
        planId: 1,
        planParameters: { storage: 10 },
        config: { max_connections: "100", nested: { on: true } },
        secrets: { password: "p" },
        secretsVersion: 2,
        backups: { enabled: true, intervalH: 12, config: { endpointUrl: "http://s3" }, secrets: { k: "v" } },
        recoverFrom: { backupId: "b-1" },
        timeouts: { create: "30m" },
      });
      svc.pause = true;
      svc.putTimeouts({ create: "40m", delete: "5m" });
      svc.resetSecretsVersion();
      const data = new b.dataCodesphereProviders.DataCodesphereProviders(stack, "catalog", {
        name: "postgres",
      });
      const outputs = {
        id: svc.id,
        host: svc.details.lookup("hostname"),
        backup: svc.backupEntries.get(0).confirmedAt,
        params: svc.planParameters,
        storage: data.providers.get(0).plans.get(0).parameters.lookup("storage"),
        pausable: data.providers.get(0).capabilities.pause,
      };
      for (const [k, v] of Object.entries(outputs)) new cdk.TerraformOutput(stack, k, { value: v });
      const json = JSON.parse(cdk.Testing.synth(stack));
      // `get` pins the version it saw; ours accepts any (the mirror holds the package's own).
      delete json.terraform.required_providers.codesphere.version;
      return json;
    };
    const expected = stackWith(theirs);
    expect(expected.resource.codesphere_managed_service.db.timeouts).toEqual({ create: "40m", delete: "5m" });
    expect(stackWith(ours)).toEqual(expected);
  });
});
