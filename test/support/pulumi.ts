/**
 * Drives the real Pulumi CLI (from `landform tools`) the way a user does:
 * a program folder, a file backend and passphrase-encrypted secrets in a
 * temporary folder of the test's own, nothing downloaded. A missing CLI is a
 * loud failure (ensureTools throws naming what is missing), never a skip.
 *
 * `PulumiProgram` writes a small program that declares the ManagedServices
 * and Landscapes described by a JSON file beside it, so each step of a test
 * changes the stack by rewriting that file (`declare`), as a user edits code.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureTools } from "../../cli/tools";
import { ROOT } from "./serve";

export interface PulumiResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface StackDeclaration {
  /** ManagedService resources by resource name: the args, as JSON. `secrets` values are plain strings. */
  services?: Record<string, Record<string, unknown>>;
  /** Landscapes by name: the args, as JSON. */
  landscapes?: Record<string, Record<string, unknown>>;
  /** Resource options of ManagedServices (e.g. `import`, `customTimeouts`), by resource name. */
  options?: Record<string, Record<string, unknown>>;
}

let toolsBin: Promise<string> | undefined;

/** The directory holding pulumi, its Node.js language host and the dynamic provider launcher. */
export function pulumiBinDir(): Promise<string> {
  toolsBin ??= ensureTools({ progress: (t) => process.stderr.write(t) }).then((t) => t.binDir);
  return toolsBin;
}

/** The environment every pulumi command of a workspace runs with: offline, file backend, own home. */
export function pulumiEnv(
  binDir: string,
  dir: string,
  extra: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}`,
    PULUMI_CONFIG_PASSPHRASE: "landform-test-passphrase",
    PULUMI_HOME: path.join(dir, "home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    // Our environment must not leak a real platform into the tests.
    CS_API: undefined,
    CS_TOKEN: undefined,
    CS_TEAM_ID: undefined,
    ...extra,
  };
}

/** Commands that read stack config, and so take `--config-file`. */
const CONFIG_COMMANDS = new Set(["config", "up", "preview", "refresh", "destroy"]);

export class PulumiProgram {
  private constructor(
    readonly dir: string,
    readonly binDir: string,
    readonly stack: string,
    /** The folder holding Pulumi.yaml (a new one after `relocate`). */
    public programDir: string,
    /** Stack config kept outside programDir (for a project that is not ours to write into). */
    private readonly configFile: string | undefined,
    private readonly extraEnv: Record<string, string | undefined>,
    /** A landform copy installed as the program's `landform` package, else the checkout by path. */
    private landform: string | undefined = undefined,
    /** A landform copy the program loads by its absolute path (no `landform` in node_modules). */
    private readonly byPath: string | undefined = undefined,
  ) {}

  /**
   * A program folder and a stack, configured for the control plane at
   * `apiUrl` with `token` (a stack secret) and team `teamId`.
   */
  static async create(options: {
    apiUrl: string;
    token: string;
    teamId?: number;
    env?: Record<string, string | undefined>;
    /** An existing project (folder with Pulumi.yaml) to run instead of the generated program. */
    project?: string;
    /**
     * A copy of the landform package (package.json and dist/) to install in
     * the program's node_modules; the program then loads `landform/pulumi` as
     * a user's does. Default: this checkout's dist/, by path.
     */
    landform?: string;
    /** A copy of the landform package for the program to load by absolute path, as from a checkout. */
    landformByPath?: string;
  }): Promise<PulumiProgram> {
    const binDir = await pulumiBinDir();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-pulumi-"));
    fs.mkdirSync(path.join(dir, "backend"));
    // A project not ours gets a stack name of its own: `stack init` writes the stack's
    // settings (its encryption salt) beside Pulumi.yaml, and we move them out at once.
    const stack = options.project ? `test-${path.basename(dir).slice(-6).toLowerCase()}` : "test";
    const program = new PulumiProgram(
      dir,
      binDir,
      stack,
      options.project ?? path.join(dir, "program"),
      options.project ? path.join(dir, `Pulumi.${stack}.yaml`) : undefined,
      options.env ?? {},
      options.landform,
      options.landformByPath,
    );
    if (!options.project) program.writeProgram();
    await program.run(["stack", "init", program.stack]);
    if (program.configFile) {
      fs.renameSync(path.join(program.programDir, `Pulumi.${stack}.yaml`), program.configFile);
    }
    await program.run(["config", "set", "codesphere:apiUrl", options.apiUrl]);
    await program.run(["config", "set", "--secret", "codesphere:token", options.token]);
    await program.run(["config", "set", "codesphere:teamId", String(options.teamId ?? 1)]);
    return program;
  }

  /**
   * Moves the project to a new folder whose `landform` is the copy at
   * `landform` (as a teammate's checkout or a CI runner has it), removes the
   * old folder and selects the stack there, as a teammate does. Backend, stack
   * and secrets stay.
   */
  async relocate(landform: string): Promise<void> {
    const old = this.programDir;
    this.programDir = fs.mkdtempSync(path.join(this.dir, "program-"));
    this.landform = landform;
    for (const file of fs.readdirSync(old)) {
      if (file !== "node_modules") fs.copyFileSync(path.join(old, file), path.join(this.programDir, file));
    }
    this.linkModules();
    fs.rmSync(old, { recursive: true, force: true });
    await this.run(["stack", "select", this.stack]);
  }

  private linkModules(): void {
    const modules = path.join(this.programDir, "node_modules");
    if (this.landform === undefined) {
      // The language host resolves @pulumi/pulumi from the program's own node_modules, as for any program.
      fs.symlinkSync(path.join(ROOT, "node_modules"), modules, "dir");
      return;
    }
    // What `npm install landform` leaves: landform itself plus the dependencies it shares with the program.
    fs.mkdirSync(modules);
    fs.symlinkSync(this.landform, path.join(modules, "landform"), "dir");
    fs.symlinkSync(path.join(ROOT, "node_modules", "@pulumi"), path.join(modules, "@pulumi"), "dir");
  }

  private writeProgram(): void {
    fs.mkdirSync(this.programDir, { recursive: true });
    fs.writeFileSync(
      path.join(this.programDir, "Pulumi.yaml"),
      "name: landform-test\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
    );
    fs.writeFileSync(
      path.join(this.programDir, "package.json"),
      '{ "name": "landform-test", "private": true }\n',
    );
    this.linkModules();
    const landform = this.landform
      ? "landform/pulumi"
      : path.join(this.byPath ?? ROOT, "dist", "provider", "pulumi");
    fs.writeFileSync(path.join(this.programDir, "index.js"), programSource(landform));
    this.declare({});
  }

  /** Replaces what the program declares (the next up/preview sees it). */
  declare(declaration: StackDeclaration): void {
    fs.writeFileSync(path.join(this.programDir, "stack.json"), JSON.stringify(declaration, null, 2));
  }

  env(): NodeJS.ProcessEnv {
    return pulumiEnv(this.binDir, this.dir, this.extraEnv);
  }

  /** Runs `pulumi ARGS` in the program folder; throws with the output unless it exits 0 (or `allowFailure`). */
  async run(
    args: string[],
    options: { allowFailure?: boolean; timeoutMs?: number } = {},
  ): Promise<PulumiResult> {
    const child = this.spawn(args);
    const result = await finished(child, options.timeoutMs ?? 240_000);
    if (result.code !== 0 && !options.allowFailure) {
      throw new Error(`pulumi ${args.join(" ")} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
    }
    return result;
  }

  /** Starts `pulumi ARGS` in its own process group (so a test can kill it with its plugins). */
  spawn(args: string[]): ChildProcess {
    const extra = this.configFile && CONFIG_COMMANDS.has(args[0]!) ? ["--config-file", this.configFile] : [];
    return spawn(path.join(this.binDir, "pulumi"), [...args, ...extra, "--non-interactive"], {
      cwd: this.programDir,
      env: this.env(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
  }

  up(): Promise<PulumiResult> {
    return this.run(["up", "--yes", "--skip-preview"]);
  }

  /** `pulumi preview --json`: the steps the engine would take. */
  async preview(): Promise<PreviewPlan> {
    const { stdout } = await this.run(["preview", "--json"]);
    return JSON.parse(stdout) as PreviewPlan;
  }

  /** The deployment as `pulumi stack export` prints it (secrets encrypted). */
  async exportText(): Promise<string> {
    return (await this.run(["stack", "export"])).stdout;
  }

  async resources(): Promise<ExportedResource[]> {
    const exported = JSON.parse(await this.exportText()) as {
      deployment: { resources?: ExportedResource[] };
    };
    return exported.deployment.resources ?? [];
  }

  /** Recorded ManagedServices by resource name. */
  async managedServices(): Promise<Record<string, ExportedResource>> {
    const out: Record<string, ExportedResource> = {};
    for (const r of await this.resources()) {
      if (r.type === "pulumi-nodejs:dynamic/codesphere:ManagedService") out[r.urn.split("::").at(-1)!] = r;
    }
    return out;
  }

  async outputs(showSecrets = false): Promise<Record<string, unknown>> {
    const args = ["stack", "output", "--json"];
    if (showSecrets) args.push("--show-secrets");
    return JSON.parse((await this.run(args)).stdout) as Record<string, unknown>;
  }

  /**
   * Kills what a killed CLI left running: plugins run in process groups of
   * their own, so killing the CLI's group misses them. Only processes whose
   * environment names this workspace's PULUMI_HOME are touched.
   */
  killLeftovers(): void {
    const marker = `PULUMI_HOME=${path.join(this.dir, "home")}`;
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      let environ: string;
      try {
        environ = fs.readFileSync(`/proc/${entry}/environ`, "latin1");
      } catch {
        continue;
      }
      if (environ.split("\0").includes(marker)) {
        try {
          process.kill(Number(entry), "SIGKILL");
        } catch {
          // gone meanwhile
        }
      }
    }
  }

  remove(): void {
    this.killLeftovers();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface PreviewStep {
  op: string;
  urn: string;
  diffReasons?: string[];
  replaceReasons?: string[];
}

export interface PreviewPlan {
  steps: PreviewStep[];
  changeSummary: Record<string, number>;
}

export interface ExportedResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

/** The steps of a plan for resources of this name (the last URN segment). */
export function stepsFor(plan: PreviewPlan, name: string): string[] {
  return plan.steps.filter((s) => s.urn.split("::").at(-1) === name).map((s) => s.op);
}

export function finished(child: ChildProcess, timeoutMs: number): Promise<PulumiResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, "SIGKILL");
      reject(new Error(`pulumi did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Kills the process and everything it started (language host, dynamic provider). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The program: ManagedServices and Landscapes from stack.json, every output exported. */
function programSource(landform: string): string {
  const pkg = JSON.stringify(landform);
  return `"use strict";
const fs = require("node:fs");
const path = require("node:path");
const pulumi = require("@pulumi/pulumi");
const { ManagedService, Landscape } = require(${pkg});

const declared = JSON.parse(fs.readFileSync(path.join(__dirname, "stack.json"), "utf8"));
for (const [name, args] of Object.entries(declared.services ?? {})) {
  const service = new ManagedService(name, args, declared.options?.[name]);
  exports[name] = { id: service.id, status: service.status, hostname: service.hostname, port: service.port };
  exports[name + "Dsn"] = service.dsn;
  // LANDFORM_TEST_KNOWN=1: log which outputs are known, so a test can see what a preview knows.
  if (process.env.LANDFORM_TEST_KNOWN === "1") {
    for (const key of ["id", "teamId", "name", "provider", "plan", "config", "pause", "status", "createdAt", "details", "hostname", "port"]) {
      service[key].apply(() => pulumi.log.info("known " + name + "." + key));
    }
  }
}
for (const [name, args] of Object.entries(declared.landscapes ?? {})) {
  const landscape = new Landscape(name, args);
  exports[name] = landscape.statuses;
}
`;
}
