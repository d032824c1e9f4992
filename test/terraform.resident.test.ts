/**
 * The resident provider (provider/terraform/resident.ts) behind the
 * launcher Terraform starts for every phase (cli/terraform-launcher.ts):
 * one process serves every phase of several commands, keeps no environment
 * on disk, makes way for a rebuilt plugin, ends when idle or killed, and is
 * never required: switched off, refused or gone, the plugin runs as a
 * process per phase, as before.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopResident } from "../cli/terraform-mirror";
import { ServedControlPlane } from "./support/serve";
import {
  anyRuntime,
  mustRun,
  PROVIDER_SOURCE,
  RUNTIME_TIMEOUT_MS,
  type Workspace,
  workspace,
} from "./support/terraform";

const TOKEN = "tf-resident-token-Hq7c";

let cp: ServedControlPlane;
let ws: Workspace;
const extraDirs: string[] = [];

function config(): string {
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
data "codesphere_providers" "redis" {
  name = "redis"
}
output "redis_plans" {
  value = length(data.codesphere_providers.redis.providers[0].plans)
}
`;
}

/** A folder of its own with the configuration, initialised. */
async function project(name: string): Promise<string> {
  const dir = path.join(ws.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "main.tf"), config());
  await mustRun(ws.terraform, ["init", "-input=false", "-no-color"], { cwd: dir, env: ws.env });
  return dir;
}

/** `plan` with the provider's debug lines; returns the resident pids that served its sessions. */
async function plan(dir: string, env: NodeJS.ProcessEnv = {}): Promise<number[]> {
  const r = await mustRun(ws.terraform, ["plan", "-input=false", "-no-color"], {
    cwd: dir,
    env: { ...ws.env, TF_LOG_PROVIDER: "debug", ...env },
  });
  expect(r.stdout).toContain("redis_plans");
  return [...r.stderr.matchAll(/session of the resident provider.*?resident_pid=(\d+)/g)].map((m) =>
    Number(m[1]),
  );
}

function residentPid(dir: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(path.join(dir, "pid"), "utf8").trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  return spawnSync("kill", ["-0", String(pid)]).status === 0;
}

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A resident folder of the test's own (LANDFORM_PROVIDER_RESIDENT_DIR). */
function ownResidentDir(name: string): string {
  const dir = path.join(ws.dir, name);
  extraDirs.push(dir);
  return dir;
}

beforeAll(async () => {
  ws = workspace("tf-resident", await anyRuntime(), { CS_TOKEN: TOKEN });
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`] });
}, RUNTIME_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(extraDirs.map((d) => stopResident(d)));
  await cp?.close();
  await ws?.cleanup();
});

describe("the resident Terraform provider", () => {
  it(
    "serves every phase of two commands from one process, which stays between them",
    async () => {
      const dir = await project("two-commands");
      const first = await plan(dir);
      const pid = residentPid(ws.mirror.residentDir);
      expect(pid).toBeDefined();
      // validate and plan at least, each a session of the same process
      expect(first.length).toBeGreaterThanOrEqual(2);
      expect(new Set(first)).toEqual(new Set([pid]));
      expect(alive(pid!)).toBe(true);
      const second = await plan(dir);
      expect(new Set(second)).toEqual(new Set([pid]));
    },
    RUNTIME_TIMEOUT_MS,
  );

  it(
    "keeps no session file and no secret in its folder once a command is done",
    async () => {
      const dir = await project("no-leftovers");
      await plan(dir);
      const names = fs.readdirSync(ws.mirror.residentDir).sort();
      expect(names).toEqual(["pid", "requests", "resident.log"].filter((n) => names.includes(n)));
      expect(names).toContain("requests");
      for (const name of names) {
        if (name === "requests") continue; // a FIFO: nothing stored
        expect(fs.readFileSync(path.join(ws.mirror.residentDir, name), "utf8")).not.toContain(TOKEN);
      }
      expect(fs.statSync(ws.mirror.residentDir).mode & 0o777).toBe(0o700);
    },
    RUNTIME_TIMEOUT_MS,
  );

  it(
    "serves two commands at once, in two folders, from the one process",
    async () => {
      const [a, b] = await Promise.all([project("parallel-a"), project("parallel-b")]);
      const [pa, pb] = await Promise.all([plan(a), plan(b)]);
      const pid = residentPid(ws.mirror.residentDir);
      expect(new Set([...pa, ...pb])).toEqual(new Set([pid]));
    },
    RUNTIME_TIMEOUT_MS,
  );

  it(
    "makes way for a rebuilt plugin: the next command gets a new resident and the old one ends",
    async () => {
      const dir = await project("rebuilt");
      const residentDir = ownResidentDir("resident-rebuilt");
      const env = { LANDFORM_PROVIDER_RESIDENT_DIR: residentDir };
      await plan(dir, env);
      const old = residentPid(residentDir)!;
      const launcher = fs.readFileSync(ws.mirror.launcher, "utf8");
      const bundle = /^entry='(.*)'$/m.exec(launcher)![1]!;
      const later = new Date(fs.statSync(bundle).mtimeMs + 1000);
      fs.utimesSync(bundle, later, later);
      const served = await plan(dir, env);
      const fresh = residentPid(residentDir)!;
      expect(fresh).not.toBe(old);
      expect(new Set(served)).toEqual(new Set([fresh]));
      await until("the old resident has ended", () => !alive(old));
    },
    RUNTIME_TIMEOUT_MS,
  );

  it(
    "ends after LANDFORM_PROVIDER_IDLE_SECONDS without a session, taking its pid file with it",
    async () => {
      const dir = await project("idle");
      const residentDir = ownResidentDir("resident-idle");
      await plan(dir, { LANDFORM_PROVIDER_RESIDENT_DIR: residentDir, LANDFORM_PROVIDER_IDLE_SECONDS: "1" });
      const pid = residentPid(residentDir)!;
      expect(pid).toBeDefined();
      await until("the idle resident has ended", () => !alive(pid));
      expect(fs.existsSync(path.join(residentDir, "pid"))).toBe(false);
    },
    RUNTIME_TIMEOUT_MS,
  );

  it(
    "is replaced when it was killed: its stale pid file does not stop the next command",
    async () => {
      const dir = await project("killed");
      const residentDir = ownResidentDir("resident-killed");
      const env = { LANDFORM_PROVIDER_RESIDENT_DIR: residentDir };
      await plan(dir, env);
      const old = residentPid(residentDir)!;
      process.kill(old, "SIGKILL");
      await until("the killed resident is gone", () => !alive(old));
      const served = await plan(dir, env);
      const fresh = residentPid(residentDir)!;
      expect(fresh).not.toBe(old);
      expect(new Set(served)).toEqual(new Set([fresh]));
    },
    RUNTIME_TIMEOUT_MS,
  );

  it(
    "is not used when switched off, or when its folder can be entered by others: each phase runs the plugin itself",
    async () => {
      const dir = await project("direct");
      const off = ownResidentDir("resident-off");
      expect(
        await plan(dir, { LANDFORM_PROVIDER_RESIDENT: "0", LANDFORM_PROVIDER_RESIDENT_DIR: off }),
      ).toEqual([]);
      expect(fs.existsSync(off)).toBe(false);

      const open = ownResidentDir("resident-open");
      fs.mkdirSync(open, { mode: 0o755 });
      fs.chmodSync(open, 0o755);
      const started = Date.now();
      expect(await plan(dir, { LANDFORM_PROVIDER_RESIDENT_DIR: open })).toEqual([]);
      expect(residentPid(open)).toBeUndefined();
      expect(fs.readFileSync(path.join(open, "resident.log"), "utf8")).toMatch(
        /can be entered by other users/,
      );
      // The launcher notices at once that the resident would not start; it does not wait it out.
      expect(Date.now() - started).toBeLessThan(60_000);
    },
    RUNTIME_TIMEOUT_MS,
  );
});
