/**
 * `terraform apply` of N managed services (landform's provider, mutual TLS,
 * against `landform serve` with zero backend latency) beside `terraform
 * apply` of N `terraform_data` resources (Terraform's built-in no-op), in
 * alternating rounds, so the ratio shows what the provider adds: plugin
 * start-up per phase, the API calls and the waits. Destroy is timed too.
 *
 * Run: npm run build && node dist/bench/terraform-apply.js [--count 50] [--rounds 3]
 * Needs terraform on PATH (or `landform tools`).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ensureTerraformMirror } from "../cli/terraform-mirror";
import { findOnPath } from "../cli/tools";
import { PROVIDER_SOURCE } from "../provider/terraform/address";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
  },
});
const COUNT = Number(values.count);
const ROUNDS = Number(values.rounds);
const ROOT = path.resolve(__dirname, "..", "..");
const TOKEN = "bench-token";

function startControlPlane(dataDir: string): Promise<{ proc: ChildProcess; apiUrl: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        path.join(ROOT, "dist", "cli", "main.js"),
        "serve",
        "--port",
        "0",
        "--data-dir",
        dataDir,
        "--token",
        `${TOKEN}=1`,
        "--operation-delay-ms",
        "0",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let buffer = "";
    proc.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split("\n")) {
        try {
          const rec = JSON.parse(line) as { msg?: string; apiUrl?: string };
          if (rec.msg === "ready" && rec.apiUrl) resolve({ proc, apiUrl: rec.apiUrl });
        } catch {
          // not a JSON line yet
        }
      }
    });
    proc.once("exit", (code) => reject(new Error(`landform serve exited with ${code}`)));
  });
}

function servicesConfig(apiUrl: string, round: number): string {
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

function terraform(bin: string, cwd: string, env: NodeJS.ProcessEnv, args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(bin, args, { cwd, env, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`terraform ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const bin = findOnPath("terraform", process.env);
  if (!bin)
    throw new Error("terraform not found on PATH: run `landform tools` and put its bin directory on PATH");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "landform-bench-tf-"));
  const mirror = ensureTerraformMirror({ cacheRoot: path.join(work, "tools"), packageDir: ROOT });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CHECKPOINT_DISABLE: "1",
    TF_CLI_CONFIG_FILE: mirror.configFile,
    TF_IN_AUTOMATION: "1",
    CS_TOKEN: TOKEN,
  };
  delete env.TF_DISABLE_PLUGIN_TLS;
  const cp = await startControlPlane(path.join(work, "data"));
  const dirs = { services: path.join(work, "services"), data: path.join(work, "data-resources") };
  try {
    const results = {
      services: { apply: [] as number[], destroy: [] as number[] },
      data: { apply: [] as number[], destroy: [] as number[] },
    };
    for (const dir of Object.values(dirs)) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dirs.data, "main.tf"), dataConfig());
    fs.writeFileSync(path.join(dirs.services, "main.tf"), servicesConfig(cp.apiUrl, 0));
    for (const dir of Object.values(dirs)) terraform(bin, dir, env, ["init", "-input=false", "-no-color"]);
    for (let round = 0; round < ROUNDS; round++) {
      fs.writeFileSync(path.join(dirs.services, "main.tf"), servicesConfig(cp.apiUrl, round));
      // Alternate which goes first, so neither always runs on a warmer machine.
      const order = round % 2 === 0 ? (["data", "services"] as const) : (["services", "data"] as const);
      for (const kind of order) {
        results[kind].apply.push(
          terraform(bin, dirs[kind], env, ["apply", "-auto-approve", "-input=false", "-no-color"]),
        );
      }
      for (const kind of order) {
        results[kind].destroy.push(
          terraform(bin, dirs[kind], env, ["destroy", "-auto-approve", "-input=false", "-no-color"]),
        );
      }
    }
    const row = (label: string, a: number[], b: number[]) =>
      `${label.padEnd(10)} ${(median(a) / 1000).toFixed(2).padStart(10)} s ${(median(b) / 1000).toFixed(2).padStart(14)} s ${(median(a) / median(b)).toFixed(2).padStart(8)}`;
    process.stdout.write(
      `terraform ${spawnSync(bin, ["version"], { encoding: "utf8" }).stdout.split("\n")[0]}, ${COUNT} resources, median of ${ROUNDS} rounds\n` +
        `${"".padEnd(10)} ${"services".padStart(12)} ${"terraform_data".padStart(16)} ${"ratio".padStart(8)}\n` +
        `${row("apply", results.services.apply, results.data.apply)}\n` +
        `${row("destroy", results.services.destroy, results.data.destroy)}\n`,
    );
  } finally {
    cp.proc.kill("SIGTERM");
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
