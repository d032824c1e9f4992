/**
 * `landform init pulumi|cdktf` as a newcomer uses it: in an empty directory,
 * the printed commands wire the project to `landform serve`, and the real
 * `pulumi up` (TypeScript compiled by the language host) or `cdktf deploy`
 * (real Terraform, provider from a mirror) creates the template's services;
 * the passwords and token stay out of state and files in plain text; destroy
 * removes them. `npm install` is the one printed step the suite replaces: it
 * links the repository's installed packages into the project's node_modules
 * (what npm leaves there, without the registry).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { CodesphereClient } from "../sdk";
import { linkDependencies } from "./support/consumer";
import { finished, killGroup, pulumiBinDir, pulumiEnv } from "./support/pulumi";
import { CLI, ROOT, ServedControlPlane } from "./support/serve";
import { anyRuntime, CDKTF, mustRun, readTree, type Workspace, workspace } from "./support/terraform";

const TOKEN = "tok-St81-starter-otter";

let cp: ServedControlPlane;
let api: CodesphereClient;
let work: string;

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "landform-starter-"));
  cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 20 });
  api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
});

afterAll(async () => {
  await api?.close();
  await cp?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Runs a shell script in `cwd` (in its own process group, killed on timeout); never rejects on exit codes. */
async function sh(script: string, cwd: string, env: NodeJS.ProcessEnv) {
  const child = spawn("sh", ["-ec", script], { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  try {
    return await finished(child, 300_000);
  } finally {
    killGroup(child, "SIGKILL");
  }
}

/** `landform init ARGS` from `cwd`, as a user runs it. */
function landformInit(args: string[], cwd = work) {
  return sh(
    `exec "${process.execPath}" "${CLI}" init ${args.map((a) => `'${a}'`).join(" ")}`,
    cwd,
    process.env,
  );
}

/** The indented command lines under "next" in init's output. */
function nextCommands(stdout: string): string[] {
  const after = stdout.split("\nnext ")[1] ?? "";
  return after
    .split("\n")
    .slice(1)
    .filter((l) => l.startsWith("  "))
    .map((l) => l.trim());
}

/** Services of team 1 by name, with their state. */
async function servicesByName(): Promise<Record<string, string>> {
  const list = await api.managedServices.list({ team: 1 });
  return Object.fromEntries(list.map((s) => [s.name, s.status.state]));
}

describe("landform init", () => {
  it("refuses a directory that is not empty, naming it, and writes nothing", async () => {
    const dir = path.join(work, "taken");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine\n");
    const r = await landformInit(["pulumi", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dir} is not empty (notes.txt): choose a new or empty directory`);
    expect(fs.readdirSync(dir)).toEqual(["notes.txt"]);
  });

  it("names the templates it has when given an unknown one, and makes no directory", async () => {
    const r = await landformInit(["terraform", "nothing-here"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown template "terraform": choose one of pulumi, cdktf');
    expect(fs.existsSync(path.join(work, "nothing-here"))).toBe(false);
  });

  it("refuses a --team-id or --api-url that is not one", async () => {
    expect((await landformInit(["cdktf", "x1", "--team-id", "zero"])).stderr).toMatch(
      /--team-id: expected a positive integer/,
    );
    expect((await landformInit(["cdktf", "x2", "--api-url", "localhost:8080"])).stderr).toMatch(
      /--api-url: expected an http/,
    );
  });
});

describe("landform init pulumi, then pulumi up", () => {
  const dir = () => path.join(work, "shop-app");
  let env: NodeJS.ProcessEnv;
  let next: string[];

  it("writes the TypeScript project and prints the commands that wire it", async () => {
    const r = await landformInit(["pulumi", "shop-app", "--api-url", cp.apiUrl]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(dir()).sort()).toEqual(
      [".gitignore", "Pulumi.yaml", "README.md", "index.ts", "package.json", "tsconfig.json"].sort(),
    );
    const project = parseYaml(fs.readFileSync(path.join(dir(), "Pulumi.yaml"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(project).toMatchObject({ name: "shop-app", runtime: "nodejs" });
    expect(project.template).toBeUndefined();
    const pkg = JSON.parse(fs.readFileSync(path.join(dir(), "package.json"), "utf8"));
    // From a checkout the package depends on the checkout (its version is not published).
    expect(pkg).toMatchObject({
      name: "shop-app",
      main: "index.ts",
      dependencies: { landform: `file:${ROOT}` },
    });
    expect(fs.readFileSync(path.join(dir(), "README.md"), "utf8").trimEnd().split("\n")).toHaveLength(3);

    next = nextCommands(r.stdout);
    expect(next).toContain(`pulumi config set codesphere:apiUrl ${cp.apiUrl}`);
    expect(next).toContain('pulumi config set --secret codesphere:token "$CS_TOKEN"');
    // The same settings `pulumi new` asks for, secret where the template says so.
    const template = parseYaml(
      fs.readFileSync(path.join(ROOT, "templates", "pulumi-typescript", "Pulumi.yaml"), "utf8"),
    ) as { template: { config: Record<string, { secret?: boolean }> } };
    for (const [key, spec] of Object.entries(template.template.config)) {
      const line = next.find((l) => l.startsWith("pulumi config set") && l.split(" ").includes(key));
      expect(line, key).toBeDefined();
      expect(line?.includes("--secret"), key).toBe(spec.secret === true);
    }
    expect(r.stdout).toContain(`pulumi new ${path.join(ROOT, "templates", "pulumi-typescript")}`);
  });

  it("deploys its services with pulumi up, the secrets kept as secrets", async () => {
    linkDependencies(dir(), ROOT);
    const state = path.join(work, "pulumi-state");
    fs.mkdirSync(path.join(state, "backend"), { recursive: true });
    env = pulumiEnv(await pulumiBinDir(), state, { CS_TOKEN: TOKEN });
    // The printed wiring, run as printed (npm install, PATH and login are the environment's here).
    const wiring = next.filter((l) => /^pulumi (stack init|config set)/.test(l));
    expect(wiring.length).toBeGreaterThanOrEqual(6);
    const wired = await sh(wiring.join("\n"), dir(), env);
    expect(wired.code, wired.stderr).toBe(0);

    const up = await sh("pulumi up --yes --skip-preview --non-interactive", dir(), env);
    expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
    expect(await servicesByName()).toMatchObject({
      "shop-app-db": "synchronized",
      "shop-app-cache": "synchronized",
    });

    const stackConfig = fs.readFileSync(path.join(dir(), "Pulumi.dev.yaml"), "utf8");
    const exported = (await sh("pulumi stack export", dir(), env)).stdout;
    const outputs = JSON.parse((await sh("pulumi stack output --json", dir(), env)).stdout);
    expect(outputs.dbDsn).toBe("[secret]");
    expect(typeof outputs.dbPort).toBe("number");
    for (const key of ["codesphere:token", "dbPassword", "dbSuperuserPassword", "cachePassword"]) {
      const plain = (await sh(`pulumi config get ${key}`, dir(), env)).stdout.trim();
      expect(plain.length, key).toBeGreaterThanOrEqual(16);
      expect(stackConfig, key).toMatch(new RegExp(`${key}:\\s*\\n?\\s*secure: `));
      expect(stackConfig, key).not.toContain(plain);
      expect(exported, key).not.toContain(plain);
    }
  });

  it("pulumi destroy removes them", async () => {
    const destroyed = await sh("pulumi destroy --yes --skip-preview --non-interactive", dir(), env);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    const left = await servicesByName();
    expect(Object.keys(left).filter((n) => n.startsWith("shop-app-"))).toEqual([]);
  });

  it("is the template pulumi new makes offline (--generate-only), the same program and settings", async () => {
    const made = path.join(work, "from-pulumi-new");
    const r = await sh(
      `pulumi new '${path.join(ROOT, "templates", "pulumi-typescript")}' --dir '${made}' --name from-new --generate-only --yes --non-interactive`,
      work,
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    for (const file of ["index.ts", "tsconfig.json"]) {
      expect(fs.readFileSync(path.join(made, file), "utf8"), file).toBe(
        fs.readFileSync(path.join(dir(), file), "utf8"),
      );
    }
  });
});

describe("landform init cdktf, then cdktf deploy", () => {
  const dir = () => path.join(work, "data-app");
  let ws: Workspace;
  let secrets: Record<string, string>;

  beforeAll(async () => {
    ws = workspace("starter-cdktf", await anyRuntime());
  });
  afterAll(() => ws?.cleanup());

  it("writes the TypeScript project and deploys its services as printed", async () => {
    const r = await landformInit(["cdktf", "data-app", "--api-url", cp.apiUrl]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(dir()).sort()).toEqual(
      [".gitignore", "README.md", "cdktf.json", "main.ts", "package.json", "tsconfig.json"].sort(),
    );
    expect(fs.readFileSync(path.join(dir(), "README.md"), "utf8").trimEnd().split("\n")).toHaveLength(3);
    linkDependencies(dir(), ROOT);
    // npm install links the project's TypeScript (6, as package.json asks) as node_modules/.bin/tsc.
    fs.mkdirSync(path.join(dir(), "node_modules", ".bin"));
    fs.symlinkSync("../typescript/bin/tsc", path.join(dir(), "node_modules", ".bin", "tsc"));

    const next = nextCommands(r.stdout);
    expect(next).toContain("npx cdktf deploy --skip-provider-lock");
    // The printed exports, except the mirror: the workspace has a mirror of its own.
    const exports = next.filter((l) => l.startsWith("export ") && !l.includes("TF_CLI_CONFIG_FILE"));
    expect(exports.join("\n")).toContain(`CS_API=${cp.apiUrl}`);
    const deployed = await sh(
      [
        ...exports,
        `export CS_TOKEN=${TOKEN}`,
        'printf \'{"TF_VAR_db_password":"%s","TF_VAR_db_superuser_password":"%s","TF_VAR_cache_password":"%s"}\' "$TF_VAR_db_password" "$TF_VAR_db_superuser_password" "$TF_VAR_cache_password" > ../data-app-secrets.json',
        `"${CDKTF}" deploy --auto-approve --skip-provider-lock`,
      ].join("\n"),
      dir(),
      ws.env,
    );
    expect(deployed.code, `${deployed.stdout}\n${deployed.stderr}`).toBe(0);
    expect(deployed.stdout).toContain("Apply complete! Resources: 2 added");
    expect(await servicesByName()).toMatchObject({
      "data-app-db": "synchronized",
      "data-app-cache": "synchronized",
    });

    secrets = JSON.parse(fs.readFileSync(path.join(work, "data-app-secrets.json"), "utf8"));
    const written = readTree(dir(), (name) => name === "node_modules");
    expect(written).toContain('"secret_fingerprints"');
    for (const [name, value] of Object.entries(secrets)) {
      expect(value.length, name).toBe(32);
      expect(written, `${name} in cdktf.out or state`).not.toContain(value);
    }
  });

  it("cdktf destroy removes them", async () => {
    const destroyed = await mustRun(CDKTF, ["destroy", "--auto-approve"], {
      cwd: dir(),
      env: { ...ws.env, ...secrets, CS_API: cp.apiUrl, CS_TOKEN: TOKEN, CS_TEAM_ID: "1" },
      timeoutMs: 300_000,
    });
    expect(destroyed.stdout).toContain("Destroy complete! Resources: 2 destroyed.");
    const left = Object.entries(await servicesByName()).filter(
      ([name, state]) => name.startsWith("data-app-") && !["deleting", "deleted"].includes(state),
    );
    expect(left).toEqual([]);
  });
});
