/**
 * What the schemas cannot see in deploy/kubernetes: references between
 * objects (selectors, named ports, Secret keys, volumes, service accounts),
 * the kustomization's file list, and the choices the deployment relies on
 * (replicas, rollout, probes, non-root, read-only root). Each rule returns
 * sentences naming the object and the field, so a failing test says what to fix.
 */
import { dirname, posix } from "node:path";
import { isKustomization, label, type Manifest } from "./kubernetes-schema";

type Obj = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, narrowed by kind before use.
type Any = any;

const KUSTOMIZATION_KEYS = new Set(["apiVersion", "kind", "namespace", "labels", "resources", "images"]);
const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet"]);

function folderOf(file: string): string {
  const d = dirname(file);
  return d === "." ? "" : d;
}

function selects(selector: Obj | undefined, labels: Obj | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

function keysOf(secret: Any): Set<string> {
  return new Set([...Object.keys(secret?.data ?? {}), ...Object.keys(secret?.stringData ?? {})]);
}

/**
 * Problems in every folder of the tree. `files` are all YAML files (relative
 * paths), so a manifest missing from a kustomization is found.
 */
export function ruleProblems(manifests: Manifest[], files: string[]): string[] {
  const problems: string[] = [];
  const folders = new Set(files.map(folderOf));
  for (const folder of folders) {
    const here = manifests.filter((m) => folderOf(m.file) === folder);
    const filesHere = files.filter((f) => folderOf(f) === folder);
    problems.push(...kustomizationProblems(folder, here, filesHere));
    problems.push(...objectProblems(here));
  }
  return problems;
}

function kustomizationProblems(folder: string, here: Manifest[], filesHere: string[]): string[] {
  const where = folder ? `${folder}/kustomization.yaml` : "kustomization.yaml";
  const k = here.find(isKustomization);
  if (!k) return [`${where}: missing; every folder of manifests has one`];
  const problems: string[] = [];
  const body: Any = k.body;
  if (body.apiVersion !== "kustomize.config.k8s.io/v1beta1")
    problems.push(`${where}: apiVersion must be kustomize.config.k8s.io/v1beta1`);
  for (const key of Object.keys(body))
    if (!KUSTOMIZATION_KEYS.has(key)) problems.push(`${where}: unknown field "${key}"`);
  const listed: string[] = Array.isArray(body.resources) ? body.resources : [];
  const base = (f: string) => posix.basename(f);
  const expected = filesHere.map(base).filter((f) => !/^kustomization\.ya?ml$/.test(f));
  for (const f of expected) {
    if (f.endsWith(".example.yaml")) {
      if (listed.includes(f)) problems.push(`${where}: lists ${f}, an example that must never be applied`);
    } else if (!listed.includes(f))
      problems.push(`${where}: ${f} is in the folder but not listed in resources`);
  }
  for (const f of listed)
    if (!expected.includes(f)) problems.push(`${where}: resources lists ${f}, which is not in the folder`);
  const images = new Set(
    here.flatMap((m) => containersOf(m).map((c) => String(c.image ?? "").replace(/[:@].*$/, ""))),
  );
  for (const img of body.images ?? [])
    if (!images.has(img?.name))
      problems.push(`${where}: images names "${img?.name}", which no container uses`);
  return problems;
}

function podSpecOf(m: Manifest): Any {
  return WORKLOAD_KINDS.has(m.body?.kind) ? m.body?.spec?.template?.spec : undefined;
}

function containersOf(m: Manifest): Any[] {
  const pod = podSpecOf(m);
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
}

function objectProblems(here: Manifest[]): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => here.filter((m) => m.body?.kind === kind);
  const secrets = byKind("Secret");
  const accounts = byKind("ServiceAccount");
  const workloads = here.filter((m) => WORKLOAD_KINDS.has(m.body?.kind));

  for (const sa of accounts)
    if (sa.body.automountServiceAccountToken !== false)
      problems.push(`${label(sa)}: automountServiceAccountToken must be false (no API token in the pods)`);

  const secretRef = (m: Manifest, where: string, name: string, key?: string) => {
    const s = secrets.find((x) => x.body.metadata?.name === name);
    if (!s) problems.push(`${label(m)}: ${where} names Secret "${name}", which no manifest here defines`);
    else if (key !== undefined && !keysOf(s.body).has(key))
      problems.push(`${label(m)}: ${where} names key "${key}", which Secret "${name}" (${s.file}) lacks`);
  };

  for (const w of workloads) {
    const spec = w.body.spec ?? {};
    const pod = podSpecOf(w) ?? {};
    const podLabels = spec.template?.metadata?.labels;
    if (spec.selector?.matchExpressions)
      problems.push(`${label(w)}: spec.selector.matchExpressions is not used here; select with matchLabels`);
    if (!selects(spec.selector?.matchLabels, podLabels))
      problems.push(`${label(w)}: spec.selector.matchLabels does not match spec.template.metadata.labels`);
    if (pod.serviceAccountName && !accounts.some((a) => a.body.metadata?.name === pod.serviceAccountName))
      problems.push(`${label(w)}: serviceAccountName "${pod.serviceAccountName}" is not defined here`);
    if (pod.securityContext?.runAsNonRoot !== true)
      problems.push(`${label(w)}: spec.template.spec.securityContext.runAsNonRoot must be true`);
    // A StatefulSet's claim templates are volumes of its pods too.
    const claims = (spec.volumeClaimTemplates ?? []).map((t: Any) => ({ name: t.metadata?.name }));
    const volumes = new Map<string, Any>([...(pod.volumes ?? []), ...claims].map((v: Any) => [v.name, v]));
    for (const v of volumes.values()) {
      if (!v.secret) continue;
      const where = `volume "${v.name}"`;
      if (!v.secret.items) secretRef(w, where, v.secret.secretName);
      for (const item of v.secret.items ?? []) secretRef(w, where, v.secret.secretName, item.key);
    }
    problems.push(...restrictedProblems(w, pod));
    for (const c of containersOf(w)) {
      const cl = `${label(w)} container "${c.name}"`;
      const ports: Any[] = c.ports ?? [];
      const portOk = (p: unknown) =>
        typeof p === "number" ? ports.some((x) => x.containerPort === p) : ports.some((x) => x.name === p);
      for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        const probe = c[kind];
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (port !== undefined && !portOk(port))
          problems.push(`${cl}: ${kind} port ${JSON.stringify(port)} is not a port of the container`);
      }
      for (const mount of c.volumeMounts ?? [])
        if (!volumes.has(mount.name)) problems.push(`${cl}: volumeMount "${mount.name}" has no volume`);
      const env: Any[] = c.env ?? [];
      for (const e of env) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) secretRef(w, `env ${e.name}`, ref.name, ref.key);
      }
      for (const e of c.envFrom ?? []) if (e.secretRef) secretRef(w, "envFrom", e.secretRef.name);
      // Kubernetes expands $(VAR) in command and args only for variables the container defines.
      for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
        for (const [, name] of String(arg).matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
          if (!env.some((e) => e.name === name))
            problems.push(
              `${cl}: argument ${arg} uses $(${name}), which the container's env does not define`,
            );
      }
    }
    if (w.body.kind === "Deployment") problems.push(...deploymentProblems(w, pod));
  }

  for (const svc of byKind("Service")) {
    const selector = svc.body.spec?.selector;
    const targets = workloads.filter((w) => selects(selector, w.body.spec?.template?.metadata?.labels));
    if (targets.length === 0) {
      problems.push(`${label(svc)}: spec.selector selects the pods of no workload here`);
      continue;
    }
    for (const p of svc.body.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      const found = targets.some((w) =>
        containersOf(w).some((c) =>
          (c.ports ?? []).some(
            (x: Any) => (typeof target === "number" ? x.containerPort : x.name) === target,
          ),
        ),
      );
      if (!found)
        problems.push(
          `${label(svc)}: port "${p.name}" targets ${JSON.stringify(target)}, no port of its pods`,
        );
      if (typeof target !== "string")
        problems.push(`${label(svc)}: port "${p.name}" should target a named container port`);
    }
  }

  for (const pdb of byKind("PodDisruptionBudget")) {
    const match = pdb.body.spec?.selector?.matchLabels;
    const targets = workloads.filter((w) => selects(match, w.body.spec?.template?.metadata?.labels));
    if (targets.length === 0)
      problems.push(`${label(pdb)}: spec.selector selects the pods of no workload here`);
    const min = pdb.body.spec?.minAvailable;
    for (const w of targets) {
      const replicas = w.body.spec?.replicas ?? 1;
      // minAvailable equal to replicas would block every node drain for good.
      if (typeof min !== "number" || min < 1 || min >= replicas)
        problems.push(
          `${label(pdb)}: minAvailable must be a number from 1 to replicas - 1 (${replicas} - 1)`,
        );
    }
  }
  return problems;
}

/**
 * The Pod Security "restricted" profile, which namespace.yaml enforces: a pod
 * short of it would be refused at admission, long after these files were merged.
 */
function restrictedProblems(w: Manifest, pod: Any): string[] {
  const problems: string[] = [];
  const seccomp = (x: Any) => x?.seccompProfile?.type;
  if (!["RuntimeDefault", "Localhost"].includes(seccomp(pod.securityContext)))
    problems.push(`${label(w)}: securityContext.seccompProfile.type must be RuntimeDefault (restricted)`);
  for (const c of containersOf(w)) {
    const sc = c.securityContext ?? {};
    const cl = `${label(w)} container "${c.name}"`;
    if (sc.allowPrivilegeEscalation !== false)
      problems.push(`${cl}: securityContext.allowPrivilegeEscalation must be false (restricted)`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL"))
      problems.push(`${cl}: securityContext.capabilities.drop must include ALL (restricted)`);
    if (sc.privileged === true || sc.runAsUser === 0)
      problems.push(`${cl}: must not run privileged or as root`);
  }
  return problems;
}

/** The control plane's own Deployment: several replicas, no capacity lost in a rollout, probes on its endpoints. */
function deploymentProblems(d: Manifest, pod: Any): string[] {
  const problems: string[] = [];
  const spec = d.body.spec;
  if (typeof spec.replicas !== "number" || spec.replicas < 2)
    problems.push(`${label(d)}: spec.replicas must be at least 2 (replicas share the work through leases)`);
  if (spec.strategy?.type !== "RollingUpdate" || spec.strategy?.rollingUpdate?.maxUnavailable !== 0)
    problems.push(`${label(d)}: spec.strategy must be RollingUpdate with maxUnavailable 0`);
  if (typeof pod.terminationGracePeriodSeconds !== "number")
    problems.push(`${label(d)}: terminationGracePeriodSeconds must be set`);
  for (const c of pod.containers ?? []) {
    const cl = `${label(d)} container "${c.name}"`;
    const path = (probe: string) => c[probe]?.httpGet?.path;
    if (path("livenessProbe") !== "/health") problems.push(`${cl}: livenessProbe must be GET /health`);
    if (path("readinessProbe") !== "/ready") problems.push(`${cl}: readinessProbe must be GET /ready`);
    if (!c.startupProbe?.httpGet) problems.push(`${cl}: startupProbe (httpGet) is missing`);
    if (c.securityContext?.readOnlyRootFilesystem !== true)
      problems.push(`${cl}: securityContext.readOnlyRootFilesystem must be true`);
    if (!c.resources?.requests || !c.resources?.limits)
      problems.push(`${cl}: resources.requests and resources.limits must be set`);
    // With a read-only root, every folder the process writes to must be a writable volume.
    const dataDir = (c.args ?? []).find((a: string) => String(a).startsWith("--data-dir="))?.slice(11);
    for (const dir of [dataDir, "/tmp"].filter(Boolean)) {
      const mount = (c.volumeMounts ?? []).find((v: Any) => v.mountPath === dir);
      if (!mount || mount.readOnly) problems.push(`${cl}: ${dir} must be a writable volume mount`);
    }
  }
  return problems;
}

/** Flags and LANDFORM_* variables of the `landform` containers: each known to the CLI, or explicitly planned. */
export function cliProblems(
  manifests: Manifest[],
  cli: { flags: Set<string>; env: Set<string> },
  planned: { flags: Set<string>; env: Set<string> },
): string[] {
  const problems: string[] = [];
  for (const m of manifests) {
    for (const c of containersOf(m)) {
      if (String(c.image ?? "").replace(/[:@].*$/, "") !== "landform") continue;
      const cl = `${label(m)} container "${c.name}"`;
      const args: string[] = (c.args ?? []).map(String);
      if (args[0] !== "serve") problems.push(`${cl}: args must start with the serve command`);
      for (const a of args.slice(1)) {
        const flag = /^(--[a-z][a-z0-9-]*)(=|$)/.exec(a)?.[1];
        if (!flag) problems.push(`${cl}: argument "${a}" is not a --flag or --flag=value`);
        else if (!cli.flags.has(flag) && !planned.flags.has(flag))
          problems.push(`${cl}: ${flag} is not an option of landform serve`);
      }
      for (const e of c.env ?? []) {
        if (!String(e.name).startsWith("LANDFORM_")) continue;
        if (!cli.env.has(e.name) && !planned.env.has(e.name))
          problems.push(`${cl}: ${e.name} is not a variable landform serve reads`);
      }
    }
  }
  return problems;
}
