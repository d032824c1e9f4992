/**
 * deploy/kubernetes and deploy/Dockerfile, checked offline (no cluster, no
 * container runtime here): every manifest against the Kubernetes OpenAPI
 * types, the references between them, the kustomization's file list, the
 * flags against the built CLI, and the Deployment's command line run for
 * real. Broken copies show each check can fail.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTokenFile } from "../control-plane/api/auth";
import { cliProblems, ruleProblems } from "./support/kubernetes-rules";
import {
  loadManifests,
  type Manifest,
  openApiProblems,
  typeProblems,
  yamlFiles,
} from "./support/kubernetes-schema";
import { CLI, ROOT } from "./support/serve";

const DIR = join(ROOT, "deploy", "kubernetes");

/**
 * Flags and variables the manifests use before `landform serve` has them.
 * Empty since issue 11 landed (--replica-id, LANDFORM_DATABASE). Keep this
 * list short and remove an entry once the CLI lists it: any flag the
 * manifests use that is neither in `landform --help` nor here fails the test.
 */
const PLANNED = {
  flags: new Set<string>(),
  env: new Set<string>(),
};

/** The options and variables the serve section of `landform --help` names. */
function serveHelp(): { flags: Set<string>; env: Set<string> } {
  const usage = execFileSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
  const section = /^ {2}serve\b[\s\S]*?(?=^ {2}\S)/m.exec(usage)?.[0];
  if (!section) throw new Error(`no serve section in landform --help:\n${usage}`);
  return {
    flags: new Set(section.match(/--[a-z][a-z0-9-]*/g)),
    env: new Set(section.match(/LANDFORM_[A-Z_]+/g)),
  };
}

let manifests: Manifest[];
let files: string[];
let help: { flags: Set<string>; env: Set<string> };

function find(kind: string, file?: string): Manifest {
  const m = manifests.find((x) => x.body.kind === kind && (file === undefined || x.file === file));
  if (!m) throw new Error(`no ${kind}${file ? ` in ${file}` : ""}`);
  return m;
}

/** Every problem the offline checks find, except the TypeScript pass (slow; run on its own). */
async function problemsOf(ms: Manifest[], fs: string[] = files): Promise<string[]> {
  return [...(await openApiProblems(ms)), ...ruleProblems(ms, fs), ...cliProblems(ms, help, PLANNED)];
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  manifests = loadManifests(DIR);
  files = yamlFiles(DIR);
  help = serveHelp();
});

describe("deploy/kubernetes", () => {
  it("holds the control plane, its Service, budget, account and namespace, and a PostgreSQL for trying out", () => {
    const kinds = manifests.map((m) => `${m.file}: ${m.body.kind}`);
    for (const k of [
      "deployment.yaml: Deployment",
      "service.yaml: Service",
      "poddisruptionbudget.yaml: PodDisruptionBudget",
      "serviceaccount.yaml: ServiceAccount",
      "namespace.yaml: Namespace",
      "secret.example.yaml: Secret",
      "postgres-dev/statefulset.yaml: StatefulSet",
      "postgres-dev/service.yaml: Service",
    ])
      expect(kinds).toContain(k);
  });

  it("every document is valid against the Kubernetes OpenAPI schemas", async () => {
    expect(await openApiProblems(manifests)).toEqual([]);
  });

  it("no document has a field the Kubernetes types do not know", () => {
    expect(typeProblems(manifests, ROOT)).toEqual([]);
  });

  it("references resolve, the kustomizations list every manifest, and the deployment's rules hold", () => {
    expect(ruleProblems(manifests, files)).toEqual([]);
  });

  it("the landform containers use only flags and variables of landform serve (or the short planned list)", () => {
    expect(cliProblems(manifests, help, PLANNED)).toEqual([]);
    // The planned list stays honest: each entry is used, else it should go.
    const args = find("Deployment", "deployment.yaml").body.spec.template.spec.containers[0];
    const used = [
      ...args.args.map((a: string) => a.split("=")[0]),
      ...args.env.map((e: { name: string }) => e.name),
    ];
    for (const p of [...PLANNED.flags, ...PLANNED.env]) expect(used).toContain(p);
  });

  it("the example Secret's placeholders are clearly marked and its tokens parse as a token file", () => {
    const example = find("Secret", "secret.example.yaml").body;
    for (const [key, value] of Object.entries<string>(example.stringData)) {
      expect(value, `${key} marks its placeholder`).toContain("CHANGE-ME");
    }
    const grants = parseTokenFile(example.stringData.tokens, "tokens").map((t) => t.grant);
    expect(grants.map((g) => g.admin)).toEqual([false, true]);
    // The URL points at postgres-dev's Service, database and user, so trying it out needs only the password.
    const svc = find("Service", "postgres-dev/service.yaml").body;
    const ns = find("Kustomization", "postgres-dev/kustomization.yaml").body.namespace;
    const dev = find("Secret", "postgres-dev/secret.yaml").body.stringData;
    const url = new URL(example.stringData["database-url"]);
    expect(`${url.hostname}:${url.port}`).toBe(`${svc.metadata.name}.${ns}.svc:${svc.spec.ports[0].port}`);
    expect([url.username, url.pathname]).toEqual([dev.POSTGRES_USER, `/${dev.POSTGRES_DB}`]);
  });

  it("the image tag follows the package version", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const k = find("Kustomization", "kustomization.yaml").body;
    expect(k.images).toContainEqual({ name: "landform", newTag: version });
  });
});

describe("deploy/Dockerfile", () => {
  const text = readFileSync(join(ROOT, "deploy", "Dockerfile"), "utf8");
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((l) => l.trim() && !l.trim().startsWith("#"))
    .map((l) => {
      const [op = "", ...rest] = l.trim().split(/\s+/);
      return { op: op.toUpperCase(), arg: rest.join(" ") };
    });
  const last = (op: string) => instructions.filter((i) => i.op === op).at(-1)?.arg ?? "";

  it("builds on Node 22 and runs as the numeric user the Deployment expects, on its port", () => {
    const froms = instructions.filter((i) => i.op === "FROM").map((i) => i.arg);
    expect(froms.every((f) => f.startsWith("node:22"))).toBe(true);
    const pod = find("Deployment", "deployment.yaml").body.spec.template.spec;
    expect(last("USER")).toBe(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
    expect(Number(last("EXPOSE"))).toBe(pod.containers[0].ports[0].containerPort);
  });

  it("starts the built CLI with serve flags landform knows, and copies only folders that exist", () => {
    const { bin } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const entry = JSON.parse(last("ENTRYPOINT")) as string[];
    expect(entry).toEqual(["node", `/app/${bin.landform.replace(/^\.\//, "")}`]);
    const cmd = JSON.parse(last("CMD")) as string[];
    expect(cmd[0]).toBe("serve");
    for (const a of cmd.slice(1)) expect(help.flags).toContain(a.split("=")[0]);
    for (const c of instructions.filter((i) => i.op === "COPY" && !i.arg.startsWith("--from"))) {
      const sources = c.arg.split(/\s+/).slice(0, -1);
      for (const s of sources) expect(existsSync(join(ROOT, s)), `COPY ${s}`).toBe(true);
    }
  });
});

describe("the Deployment's command line, run against the built CLI", () => {
  let child: ChildProcess | undefined;
  let tmp = "";
  afterAll(() => {
    child?.kill("SIGKILL");
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("starts the control plane, answers its probes, and exits on SIGTERM within the grace period", async () => {
    tmp = mkdtempSync(join(tmpdir(), "landform-k8s-"));
    const pod = find("Deployment", "deployment.yaml").body.spec.template.spec;
    const container = pod.containers[0];
    const secretMount = container.volumeMounts.find((v: { name: string }) => v.name === "secrets").mountPath;
    // The Secret's files as the kubelet writes them (0440 under fsGroup), with working values.
    mkdirSync(join(tmp, "secrets"));
    const secretFiles: Record<string, string> = {
      tokens: "k8s-test-token=1\n",
      "vault-key": randomBytes(32).toString("base64"),
      "backend-key": randomBytes(24).toString("base64url"),
    };
    for (const [name, value] of Object.entries(secretFiles))
      writeFileSync(join(tmp, "secrets", name), value, { mode: 0o440 });
    const args = (container.args as string[])
      .filter((a) => help.flags.has(a.split("=")[0] ?? "") || a === "serve")
      .map((a) =>
        a
          .replace(/^--host=.*/, "--host=127.0.0.1")
          .replace(/^--port=.*/, "--port=0")
          .replace(/^--data-dir=.*/, `--data-dir=${join(tmp, "data")}`)
          .replace(secretMount, join(tmp, "secrets"))
          .replace("$(POD_NAME)", "landform-7d9f8-abcde"),
      );
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LANDFORM_")));
    const proc = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    let output = "";
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const ready = output.split("\n").find((l) => l.includes('"msg":"ready"'));
        if (ready) resolve(JSON.parse(ready).url);
      };
      proc.stdout.on("data", onData);
      proc.stderr.on("data", onData);
      exited.then(() => reject(new Error(`landform serve exited:\n${output}`)));
    });
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      const res = await fetch(`${url}${container[probe].httpGet.path}`);
      expect(res.status, probe).toBe(200);
    }
    const api = await fetch(`${url}/api/managed-services?team=1`, {
      headers: { authorization: "Bearer k8s-test-token" },
    });
    expect(api.status).toBe(200);
    const stopped = Date.now();
    proc.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - stopped).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
    child = undefined;
    for (const value of Object.values(secretFiles)) expect(output).not.toContain(value.trim());
  });
});

describe("the checks fail on broken manifests", () => {
  const mutated = (fn: (ms: Manifest[]) => void): Manifest[] => {
    const copy = structuredClone(manifests);
    fn(copy);
    return copy;
  };
  const deployment = (ms: Manifest[]) => {
    const d = ms.find((m) => m.file === "deployment.yaml");
    if (!d) throw new Error("no deployment.yaml");
    return d.body;
  };

  it("the pristine manifests have no problem, so each case below is the mutation's doing", async () => {
    expect(await problemsOf(manifests)).toEqual([]);
  });

  it.each<[string, (ms: Manifest[]) => void, string]>([
    [
      "a selector that misses the pod labels",
      (ms) => {
        deployment(ms).spec.template.metadata.labels["app.kubernetes.io/component"] = "api";
      },
      "spec.selector.matchLabels does not match spec.template.metadata.labels",
    ],
    [
      "a Service aimed at a port the pods lack",
      (ms) => {
        const svc = ms.find((m) => m.file === "service.yaml");
        if (svc) svc.body.spec.ports[0].targetPort = "web";
      },
      'port "http" targets "web", no port of its pods',
    ],
    [
      "a Secret key the example Secret lacks",
      (ms) => {
        deployment(ms).spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.key = "database-uri";
      },
      'names key "database-uri", which Secret "landform" (secret.example.yaml) lacks',
    ],
    [
      "a readiness probe on /health",
      (ms) => {
        deployment(ms).spec.template.spec.containers[0].readinessProbe.httpGet.path = "/health";
      },
      "readinessProbe must be GET /ready",
    ],
    [
      "one replica",
      (ms) => {
        deployment(ms).spec.replicas = 1;
      },
      "spec.replicas must be at least 2",
    ],
    [
      "replicas as text",
      (ms) => {
        deployment(ms).spec.replicas = "3";
      },
      "spec/replicas must be integer",
    ],
    [
      "a flag landform serve does not have",
      (ms) => void deployment(ms).spec.template.spec.containers[0].args.push("--replicas=3"),
      "--replicas is not an option of landform serve",
    ],
    [
      "a container that may gain privileges (refused in the restricted namespace)",
      (ms) => {
        delete deployment(ms).spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation;
      },
      "securityContext.allowPrivilegeEscalation must be false (restricted)",
    ],
    [
      "a budget that would block every drain",
      (ms) => {
        const pdb = ms.find((m) => m.body.kind === "PodDisruptionBudget");
        if (pdb) pdb.body.spec.minAvailable = 3;
      },
      "minAvailable must be a number from 1 to replicas - 1",
    ],
    [
      "a manifest left out of the kustomization",
      (ms) => {
        const k = ms.find((m) => m.file === "kustomization.yaml");
        if (k) k.body.resources = k.body.resources.filter((r: string) => r !== "poddisruptionbudget.yaml");
      },
      "poddisruptionbudget.yaml is in the folder but not listed in resources",
    ],
  ])("%s", async (_name, mutate, expected) => {
    const problems = await problemsOf(mutated(mutate));
    expect(
      problems.some((p) => p.includes(expected)),
      problems.join("\n"),
    ).toBe(true);
  });

  it("an unknown field, which the OpenAPI validators let through, is named by the type check", async () => {
    const broken = mutated((ms) => {
      const c = deployment(ms).spec.template.spec.containers[0];
      c.readinesProbe = c.readinessProbe;
    }).filter((m) => m.file === "deployment.yaml");
    expect(await openApiProblems(broken)).toEqual([]);
    const problems = typeProblems(broken, ROOT);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/spec\.template\.spec\.containers\[0\]\.readinesProbe: .*does not exist/);
  });
});
