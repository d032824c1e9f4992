/**
 * `terraform apply` of N managed services (landform's provider, mutual TLS,
 * against `landform serve` with zero backend latency and simulated engines:
 * this measures the provider and Terraform; bench/engines.ts measures the
 * engines) beside `terraform apply` of N `terraform_data` resources
 * (Terraform's built-in no-op), in alternating rounds, so the ratio shows
 * what the provider adds: plugin start-up per phase, the API calls and the
 * waits. Destroy is timed too. A third kind, `codesphere_noop` from a
 * no-op plugin built on the same runtime (bench/support/noop-plugin.ts),
 * separates what Terraform's plugin process per phase costs any Node.js
 * plugin from what the API work adds.
 *
 * The provider runs three ways (cli/terraform-launcher.ts): through a
 * resident provider that is already running (a second command within its
 * idle time), through one that each command starts ("cold resident": the
 * first command of a day), and as a plugin process per phase
 * (LANDFORM_PROVIDER_RESIDENT=0, as before the resident existed).
 *
 * The control plane's own share is reported too: from the first service's
 * creation request to the last one's ServiceSynchronized event. No provider
 * can apply faster than that; the rest is Terraform and the provider.
 *
 * With `--baseline DIR` (another built checkout, e.g. a worktree at main)
 * the same services are applied with that checkout's provider too, against
 * the same control plane in the same rounds: before and after from one run.
 *
 * Run: npm run build && node dist/bench/terraform-apply.js [--count 50] [--rounds 3] [--baseline DIR]
 * Needs terraform on PATH (or `landform tools`).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stopResident } from "../cli/terraform-launcher";
import { findOnPath } from "../cli/tools";
import { PROVIDER_SOURCE } from "../provider/terraform/address";
import { CodesphereClient } from "../sdk";
import { checkoutMirror } from "./support/checkout-mirror";
import { controlPlaneWindow } from "./support/control-plane-window";
import { NOOP_SOURCE, noopPluginMirror } from "./support/noop-mirror";
import { median, ROOT, startServe } from "./support/processes";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
    baseline: { type: "string" },
  },
});
const COUNT = Number(values.count);
const ROUNDS = Number(values.rounds);
const TOKEN = "bench-token";

function servicesConfig(apiUrl: string, round: string): string {
  return `terraform {
  required_providers {
    codesphere = { source = "${PROVIDER_SOURCE}" }
  }
}
provider "codesphere" {
  api_url = "${apiUrl}"
  team_id = 1
}
resource "codesphere_managed_service" "svc" {
  count            = ${COUNT}
  name             = "bench-${round}-\${count.index}"
  provider_name    = "redis"
  provider_version = "v1"
  plan_id          = 0
  secrets          = { password = "bench-password-\${count.index}" }
}
`;
}

function dataConfig(): string {
  return `resource "terraform_data" "svc" {
  count = ${COUNT}
  input = { name = "bench-\${count.index}", provider = "redis", plan = 0 }
}
`;
}

function noopConfig(): string {
  return `terraform {
  required_providers {
    codesphere = { source = "${NOOP_SOURCE}" }
  }
}
# Configured as the real provider is; the no-op resource never calls the API.
provider "codesphere" {
  api_url = "http://127.0.0.1:9/api"
  team_id = 1
}
resource "codesphere_noop" "svc" {
  count = ${COUNT}
  name  = "bench-\${count.index}"
}
`;
}

function terraform(bin: string, cwd: string, env: NodeJS.ProcessEnv, args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(bin, args, { cwd, env, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`terraform ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return ms;
}

async function main(): Promise<void> {
  const bin = findOnPath("terraform", process.env);
  if (!bin)
    throw new Error("terraform not found on PATH: run `landform tools` and put its bin directory on PATH");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "landform-bench-tf-"));
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    CS_TOKEN: TOKEN,
  };
  delete baseEnv.TF_DISABLE_PLUGIN_TLS;
  const residents: string[] = [];
  const envFor = (packageDir: string, label: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const mirror = checkoutMirror(packageDir, path.join(work, `tools-${label}`));
    // A checkout from before the resident provider has none.
    if (mirror.residentDir) residents.push(mirror.residentDir);
    return { ...baseEnv, TF_CLI_CONFIG_FILE: mirror.configFile, ...extra };
  };
  const cp = await startServe(TOKEN, 0);
  const coldEnv = envFor(ROOT, "cold");
  const coldResident = residents.at(-1)!;
  // Each kind: its folder, its environment (which provider build), its configuration per round.
  const kinds: {
    label: string;
    dir: string;
    env: NodeJS.ProcessEnv;
    config: (round: number) => string;
    /** Name prefix of the round's services (none for terraform_data). */
    prefix?: (round: number) => string;
    /** Run before each apply and destroy, untimed. */
    before?: () => Promise<void>;
  }[] = [
    {
      label: "terraform_data",
      dir: path.join(work, "data-resources"),
      env: baseEnv,
      config: () => dataConfig(),
    },
    {
      label: "services",
      dir: path.join(work, "services"),
      env: envFor(ROOT, "this"),
      config: (round) => servicesConfig(cp.apiUrl, `${round}`),
      prefix: (round) => `bench-${round}-`,
    },
    {
      // The first command after the resident's idle exit (or ever) starts it.
      label: "services, cold resident",
      dir: path.join(work, "services-cold"),
      env: coldEnv,
      config: (round) => servicesConfig(cp.apiUrl, `cold-${round}`),
      prefix: (round) => `bench-cold-${round}-`,
      before: () => stopResident(coldResident),
    },
    {
      label: "services, no resident",
      dir: path.join(work, "services-direct"),
      env: envFor(ROOT, "direct", { LANDFORM_PROVIDER_RESIDENT: "0" }),
      config: (round) => servicesConfig(cp.apiUrl, `direct-${round}`),
      prefix: (round) => `bench-direct-${round}-`,
    },
  ];
  kinds.push({
    label: "no-op Node.js plugin",
    dir: path.join(work, "noop-plugin-resources"),
    env: { ...baseEnv, TF_CLI_CONFIG_FILE: await noopPluginMirror(work) },
    config: () => noopConfig(),
  });
  if (values.baseline) {
    kinds.push({
      label: "services (baseline)",
      dir: path.join(work, "services-baseline"),
      env: envFor(path.resolve(values.baseline), "baseline"),
      config: (round) => servicesConfig(cp.apiUrl, `base-${round}`),
      prefix: (round) => `bench-base-${round}-`,
    });
  }
  const api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  try {
    const results = new Map(
      kinds.map((k) => [
        k.label,
        { apply: [] as number[], destroy: [] as number[], controlPlane: [] as number[] },
      ]),
    );
    for (const kind of kinds) {
      fs.mkdirSync(kind.dir, { recursive: true });
      fs.writeFileSync(path.join(kind.dir, "main.tf"), kind.config(0));
      terraform(bin, kind.dir, kind.env, ["init", "-input=false", "-no-color"]);
    }
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order, so none always runs first on a cooler machine.
      const order = kinds.map((_, i) => kinds[(round + i) % kinds.length]!);
      for (const kind of order) {
        fs.writeFileSync(path.join(kind.dir, "main.tf"), kind.config(round));
        await kind.before?.();
        results
          .get(kind.label)!
          .apply.push(
            terraform(bin, kind.dir, kind.env, ["apply", "-auto-approve", "-input=false", "-no-color"]),
          );
        if (kind.prefix) {
          results.get(kind.label)!.controlPlane.push(await controlPlaneWindow(api, kind.prefix(round)));
        }
      }
      for (const kind of order) {
        await kind.before?.();
        results
          .get(kind.label)!
          .destroy.push(
            terraform(bin, kind.dir, kind.env, ["destroy", "-auto-approve", "-input=false", "-no-color"]),
          );
      }
    }
    const floor = results.get("terraform_data")!;
    const seconds = (xs: number[]) => `${(median(xs) / 1000).toFixed(2)} s`;
    const ratio = (xs: number[], base: number[]) => `${(median(xs) / median(base)).toFixed(2)}x`;
    let table =
      `terraform ${spawnSync(bin, ["version"], { encoding: "utf8" }).stdout.split("\n")[0]}, ${COUNT} resources, median of ${ROUNDS} rounds\n` +
      `${"".padEnd(24)} ${"apply".padStart(9)} ${"ratio".padStart(7)} ${"destroy".padStart(9)} ${"ratio".padStart(7)} ${"control plane".padStart(14)}\n`;
    for (const kind of kinds) {
      const r = results.get(kind.label)!;
      table += `${kind.label.padEnd(24)} ${seconds(r.apply).padStart(9)} ${ratio(r.apply, floor.apply).padStart(7)} ${seconds(r.destroy).padStart(9)} ${ratio(r.destroy, floor.destroy).padStart(7)} ${(r.controlPlane.length ? seconds(r.controlPlane) : "").padStart(14)}\n`;
    }
    process.stdout.write(table);
    process.stdout.write(
      "control plane: first creation request to last ServiceSynchronized during apply (no provider applies faster)\n",
    );
  } finally {
    await api.close();
    await Promise.all(residents.map((dir) => stopResident(dir)));
    await cp.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
