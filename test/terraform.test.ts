/**
 * The Terraform provider, driven by each real CLI of test/support/terraform.ts
 * (OpenTofu always, with no terraform on PATH; Terraform when PATH has 1.11+),
 * mutual TLS on, installed offline from a filesystem mirror, against
 * `landform serve`: create, no-op plan, pause in place, replacement, drift,
 * import, destroy, and a state that never holds a write-only secret.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOnPath } from "../cli/tools";
import { CodesphereClient, waitForState } from "../sdk";
import { ServedControlPlane } from "./support/serve";
import {
  mustRun,
  PROVIDER_SOURCE,
  planActions,
  RUNTIME_TIMEOUT_MS,
  readTree,
  terraformRuntimes,
  type Workspace,
  workspace,
} from "./support/terraform";

const TOKEN = "tf-token";
const DB_PASSWORD = "pw-Tf61-copper-heron";
const DB_USER = "user_tf_walnut";
const CACHE_PASSWORD = "cache-Tf07-amber-finch";
const NEW_PASSWORD = "pw-Tf62-silver-otter";
const SECRETS = [DB_PASSWORD, DB_USER, CACHE_PASSWORD, NEW_PASSWORD];

interface Settings {
  pause?: boolean;
  version?: string;
  password?: string;
  extra?: string;
}

/** [name, runtime]: `%s` names a leg without quotes. */
const RUNTIMES = terraformRuntimes().map((r) => [r.name, r] as const);

describe.each(RUNTIMES)("%s with the codesphere provider", (_name, runtime) => {
  let cp: ServedControlPlane;
  let ws: Workspace;
  let client: CodesphereClient;

  function config(s: Settings = {}): string {
    return `
  terraform {
    required_providers {
      codesphere = { source = "${PROVIDER_SOURCE}" }
    }
  }

  provider "codesphere" {
    api_url = "${cp.apiUrl}"
    team_id = 1
  }

  resource "codesphere_managed_service" "db" {
    name             = "tf-orders"
    provider_name    = "postgresql"
    provider_version = "${s.version ?? "15"}"
    plan_id          = 1
    plan_parameters  = { storage = 10 }
    config           = { max_connections = "100" }
    secrets          = { username = "${DB_USER}", password = "${s.password ?? DB_PASSWORD}" }
    pause            = ${s.pause ?? false}
    timeouts {
      create = "2m"
    }
  }

  data "codesphere_providers" "redis" {
    name = "redis"
  }

  output "db_id" {
    value = codesphere_managed_service.db.id
  }
  output "redis_plans" {
    value = data.codesphere_providers.redis.providers[0].plans[*].name
  }
  ${s.extra ?? ""}
  `;
  }

  async function tf(args: string[], expectCodes: number[] = [0]) {
    return mustRun(ws.terraform, args, { cwd: ws.dir, env: ws.env, expect: expectCodes });
  }

  async function apply(s: Settings = {}) {
    fs.writeFileSync(path.join(ws.dir, "main.tf"), config(s));
    await tf(["plan", "-out=plan.bin", "-no-color"]);
    const actions = planActions((await tf(["show", "-json", "plan.bin"])).stdout);
    const applied = await tf(["apply", "-no-color", "plan.bin"]);
    return { actions, output: applied.stdout };
  }

  async function dbId(): Promise<string> {
    return JSON.parse((await tf(["output", "-json", "db_id"])).stdout) as string;
  }

  beforeAll(async () => {
    ws = workspace("tf", { name: runtime.name, binary: await runtime.binary() }, { CS_TOKEN: TOKEN });
    cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 20 });
    client = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  }, RUNTIME_TIMEOUT_MS);

  afterAll(async () => {
    await client?.close();
    await cp?.close();
    await ws?.cleanup();
  });

  it("runs the CLI it names, and for OpenTofu with no terraform anywhere on PATH", async () => {
    const version = await tf(["version"]);
    expect(version.stdout).toMatch(new RegExp(`^${runtime.name} v1\\.(1[1-9]|[2-9]\\d)\\.`));
    expect(findOnPath("terraform", ws.env) === undefined).toBe(runtime.name === "OpenTofu");
  });

  it("installs the provider offline from the mirror that landform tools writes", async () => {
    fs.writeFileSync(path.join(ws.dir, "main.tf"), config());
    const init = await tf(["init", "-no-color"]);
    expect(init.stdout).toContain(`Installing ${PROVIDER_SOURCE}`);
    const lock = fs.readFileSync(path.join(ws.dir, ".terraform.lock.hcl"), "utf8");
    expect(lock).toMatch(/h1:/);
  });

  it("creates the service and waits until the control plane shows it synchronized", async () => {
    const { actions, output } = await apply();
    expect(actions["codesphere_managed_service.db"]).toEqual(["create"]);
    expect(output).toContain("Apply complete! Resources: 1 added");
    const service = await client.managedServices.get(await dbId());
    expect(service.status.state).toBe("synchronized");
    expect(service.plan.parameters.storage).toBe(10);
    expect(output).toMatch(/redis_plans = tolist\(\[\s+"Small",/);
  });

  it("plans no changes the second time", async () => {
    const plan = await tf(["plan", "-detailed-exitcode", "-no-color"], [0, 2]);
    expect(plan.code, plan.stdout).toBe(0);
    expect(plan.stdout).toContain("No changes.");
  });

  it("pauses and resumes in place", async () => {
    const id = await dbId();
    const paused = await apply({ pause: true });
    expect(paused.actions["codesphere_managed_service.db"]).toEqual(["update"]);
    expect((await client.managedServices.get(id)).status.state).toBe("paused");
    const resumed = await apply({ pause: false });
    expect(resumed.actions["codesphere_managed_service.db"]).toEqual(["update"]);
    expect(await dbId()).toBe(id);
    expect((await client.managedServices.get(id)).status.state).toBe("synchronized");
  });

  it("sends a changed write-only secret in place, found from its fingerprint", async () => {
    const id = await dbId();
    const { actions } = await apply({ password: NEW_PASSWORD });
    expect(actions["codesphere_managed_service.db"]).toEqual(["update"]);
    expect(await dbId()).toBe(id);
    const events = await client.managedServices.events(id);
    expect(events.events.map((e) => e.body).join("\n")).toContain("secrets");
  });

  it("replaces the service when an immutable field changes", async () => {
    const before = await dbId();
    const { actions } = await apply({ version: "16", password: NEW_PASSWORD });
    expect(actions["codesphere_managed_service.db"]).toEqual(["delete", "create"]);
    const after = await dbId();
    expect(after).not.toBe(before);
    expect((await client.managedServices.get(after)).provider.schemaVersion).toBe("v16");
    const old = await client.managedServices.get(before).catch(() => undefined);
    expect(old === undefined || ["deleted", "deleting"].includes(old.status.state)).toBe(true);
  });

  it("reports drift made through the API on refresh, and puts it right on apply", async () => {
    const id = await dbId();
    await client.managedServices.update(id, { config: { max_connections: "150" }, pause: true });
    await waitForState(client, id, "paused", { timeoutMs: 20_000 });
    const refresh = await tf(["plan", "-refresh-only", "-no-color"]);
    expect(refresh.stdout).toContain("codesphere_managed_service.db has changed");
    expect(refresh.stdout).toMatch(/max_connections = "100" -> "150"/);
    expect(refresh.stdout).toMatch(/pause\s+= false -> true/);
    const { actions } = await apply({ version: "16", password: NEW_PASSWORD });
    expect(actions["codesphere_managed_service.db"]).toEqual(["update"]);
    const fixed = await client.managedServices.get(id);
    expect(fixed.config.max_connections).toBe("100");
    expect(fixed.pause).toBe(false);
  });

  it("adopts a service made outside Terraform through an import block", async () => {
    const made = await client.managedServices.create({
      teamId: 1,
      name: "tf-cache",
      provider: { name: "redis", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: { maxmemoryPolicy: "allkeys-lru" },
      secrets: { password: CACHE_PASSWORD },
    });
    await waitForState(client, made.id, "synchronized", { timeoutMs: 20_000 });
    const extra = `
  import {
    to = codesphere_managed_service.cache
    id = "${made.id}"
  }
  resource "codesphere_managed_service" "cache" {
    name             = "tf-cache"
    provider_name    = "redis"
    provider_version = "v1"
    plan_id          = 0
    config           = { maxmemoryPolicy = "allkeys-lru" }
    secrets          = { password = "${CACHE_PASSWORD}" }
  }
  output "cache_id" {
    value = codesphere_managed_service.cache.id
  }`;
    const { output } = await apply({ version: "16", password: NEW_PASSWORD, extra });
    expect(output).toContain("1 imported, 0 added");
    expect(JSON.parse((await tf(["output", "-json", "cache_id"])).stdout)).toBe(made.id);
    const plan = await tf(["plan", "-detailed-exitcode", "-no-color"], [0, 2]);
    expect(plan.code, plan.stdout).toBe(0);
  });

  it("keeps every secret out of the state and the plan files (write-only attributes)", async () => {
    const state = fs.readFileSync(path.join(ws.dir, "terraform.tfstate"), "utf8");
    // Everything Terraform wrote; the configuration itself holds the secrets, of course.
    const everything = readTree(ws.dir, (name) => name.endsWith(".tf"));
    for (const secret of SECRETS) {
      expect(state).not.toContain(secret);
      expect(everything).not.toContain(secret);
    }
    const attrs = JSON.parse(state).resources.find(
      (r: { type: string; name: string }) => r.type === "codesphere_managed_service" && r.name === "db",
    ).instances[0].attributes;
    expect(attrs.secrets).toBeNull();
    expect(Object.keys(attrs.secret_fingerprints)).toEqual(["secrets.password", "secrets.username"]);
  });

  it("destroys every service", async () => {
    const ids = [await dbId(), JSON.parse((await tf(["output", "-json", "cache_id"])).stdout) as string];
    const destroyed = await tf(["destroy", "-auto-approve", "-no-color"]);
    expect(destroyed.stdout).toContain("Destroy complete! Resources: 2 destroyed.");
    for (const id of ids) {
      const gone = await client.managedServices.get(id).catch(() => undefined);
      expect(gone === undefined || ["deleted", "deleting"].includes(gone.status.state)).toBe(true);
    }
    expect(await client.managedServices.list({ team: 1 })).toEqual([]);
  });
});
