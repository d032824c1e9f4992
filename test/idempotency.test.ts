/**
 * Idempotency-Key end to end, against `landform serve`: a create whose
 * answer is lost on the way back (a proxy closes the client's connection
 * after the server answered) is retried with the same key and makes exactly
 * one service, through the SDK and through the real terraform binary. Plus
 * the rules a client can see: replay of the same id, 422 for another body
 * under the same key, and keys that belong to one token only.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import type { CreateManagedServiceRequest } from "../sdk/schemas";
import { DroppingProxy, type DropRule } from "./support/dropping-proxy";
import { ServedControlPlane } from "./support/serve";
import {
  anyRuntime,
  mustRun,
  PROVIDER_SOURCE,
  RUNTIME_TIMEOUT_MS,
  type Workspace,
  workspace,
} from "./support/terraform";

const A = "idem-token-a";
const B = "idem-token-b";

let cp: ServedControlPlane;
let direct: CodesphereClient;
const proxies: DroppingProxy[] = [];

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: [`${A}=1`, `${B}=1`], operationDelayMs: 20 });
  direct = new CodesphereClient({ baseUrl: cp.apiUrl, token: A });
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  await direct?.close();
  await cp?.close();
});

/** Drops the answer to the first create (POST /api/managed-services) and passes everything else. */
const firstCreate: DropRule = (req, _i) =>
  req.method === "POST" &&
  req.path === "/api/managed-services" &&
  !proxies.at(-1)?.requests.some((r) => r.dropped);

async function proxy(): Promise<DroppingProxy> {
  const p = await DroppingProxy.start(cp.url, (req, i) => firstCreate(req, i));
  proxies.push(p);
  return p;
}

function body(name: string, storage = 10): CreateManagedServiceRequest {
  return {
    teamId: 1,
    name,
    provider: { name: "postgresql", version: "15" },
    plan: { id: 1, parameters: { storage } },
    config: { max_connections: "100" },
    secrets: { username: "idem_user", password: "pw-Idem-41-quartz" },
  };
}

async function servicesNamed(name: string) {
  return (await direct.managedServices.list({ team: 1 })).filter((s) => s.name === name);
}

function raw(token: string, key: string, payload: unknown) {
  return fetch(`${cp.apiUrl}/managed-services`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify(payload),
  });
}

describe("a create whose answer is lost, retried with the same Idempotency-Key", () => {
  it("makes one service through the SDK, whose retry gets the first answer", async () => {
    const p = await proxy();
    const client = new CodesphereClient({ baseUrl: `${p.url}/api`, token: A, retryBaseDelayMs: 20 });
    try {
      const created = await client.managedServices.create(body("idem-sdk"), {
        idempotencyKey: "sdk-create-1",
      });

      const creates = p.requests.filter((r) => r.method === "POST");
      expect(creates).toEqual([
        {
          method: "POST",
          path: "/api/managed-services",
          key: "sdk-create-1",
          dropped: true,
          status: 200,
          replayed: false,
        },
        {
          method: "POST",
          path: "/api/managed-services",
          key: "sdk-create-1",
          dropped: false,
          status: 200,
          replayed: true,
        },
      ]);
      const named = await servicesNamed("idem-sdk");
      expect(named.map((s) => s.id)).toEqual([created.id]);
    } finally {
      await client.close();
    }
  });

  it(
    "makes one service through terraform apply, which succeeds",
    async () => {
      const p = await proxy();
      const ws: Workspace = workspace("idem-tf", await anyRuntime(), { CS_TOKEN: A });
      try {
        fs.writeFileSync(
          path.join(ws.dir, "main.tf"),
          `
terraform {
  required_providers {
    codesphere = { source = "${PROVIDER_SOURCE}" }
  }
}
provider "codesphere" {
  api_url = "${p.url}/api"
  team_id = 1
}
resource "codesphere_managed_service" "db" {
  name             = "idem-tf"
  provider_name    = "postgresql"
  provider_version = "15"
  plan_id          = 1
  plan_parameters  = { storage = 10 }
  config           = { max_connections = "100" }
  secrets          = { username = "idem_tf", password = "pw-Idem-42-basalt" }
  timeouts {
    create = "2m"
  }
}
output "db_id" {
  value = codesphere_managed_service.db.id
}
`,
        );
        const tf = (args: string[]) => mustRun(ws.terraform, args, { cwd: ws.dir, env: ws.env });
        await tf(["init", "-no-color"]);
        const applied = await tf(["apply", "-auto-approve", "-no-color"]);
        expect(applied.stdout).toContain("Apply complete! Resources: 1 added");

        const creates = p.requests.filter((r) => r.method === "POST" && r.path === "/api/managed-services");
        expect(creates).toHaveLength(2);
        expect(creates.map((r) => [r.dropped, r.replayed])).toEqual([
          [true, false],
          [false, true],
        ]);
        // The provider made one key for the create and sent it both times.
        expect(creates[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
        expect(creates[1]?.key).toBe(creates[0]?.key);

        const id = JSON.parse((await tf(["output", "-json", "db_id"])).stdout) as string;
        const named = await servicesNamed("idem-tf");
        expect(named.map((s) => s.id)).toEqual([id]);
        expect(named[0]?.status.state).toBe("synchronized");
      } finally {
        await ws.cleanup();
      }
    },
    RUNTIME_TIMEOUT_MS,
  ); // the CLI may be OpenTofu, built on first use
});

describe("Idempotency-Key rules at the API", () => {
  it("replays the same id for the same key and body", async () => {
    const first = await raw(A, "rules-1", body("idem-replay"));
    const again = await raw(A, "rules-1", body("idem-replay"));
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const [a, b] = [(await first.json()) as { id: string }, (await again.json()) as { id: string }];
    expect(b.id).toBe(a.id);
    expect(await servicesNamed("idem-replay")).toHaveLength(1);
  });

  it("answers 422 naming the header when the same key comes with another body", async () => {
    await raw(A, "rules-2", body("idem-mismatch"));
    const other = await raw(A, "rules-2", body("idem-mismatch", 20));
    expect(other.status).toBe(422);
    expect(other.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await other.json()) as { status: number; detail: string; traceId: string };
    expect(problem.status).toBe(422);
    expect(problem.detail).toMatch(/^Idempotency-Key: key "rules-2" was first used for a different request/);
    expect(problem.traceId).toBeTruthy();
    expect((await servicesNamed("idem-mismatch"))[0]?.plan.parameters.storage).toBe(10);
  });

  it("does not give another token the first answer for the same key", async () => {
    const first = await raw(A, "rules-3", body("idem-scoped"));
    expect(first.status).toBe(200);
    // Token B acts for the same team: its request is judged afresh, and the name is taken.
    const other = await raw(B, "rules-3", body("idem-scoped"));
    expect(other.status).toBe(409);
    expect(other.headers.get("idempotent-replayed")).toBeNull();
    expect(await servicesNamed("idem-scoped")).toHaveLength(1);
  });

  it("answers 400 for a malformed key and writes nothing", async () => {
    const res = await raw(A, "k".repeat(256), body("idem-malformed"));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toMatch(
      /^Idempotency-Key: must be at most 255/,
    );
    expect(await servicesNamed("idem-malformed")).toHaveLength(0);
  });
});
