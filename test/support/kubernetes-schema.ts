/**
 * Kubernetes manifests read and checked against the Kubernetes OpenAPI types,
 * offline: the `kubernetes-models` package carries both the OpenAPI schemas
 * compiled to validators (types, required fields, enums) and the same types
 * as TypeScript interfaces. The compiled validators let unknown fields pass
 * (the OpenAPI document does not forbid them), while the API server rejects
 * them under strict field validation; so each document is also compiled as a
 * typed TypeScript literal, whose excess-property check names any unknown
 * field at any depth.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { parseAllDocuments } from "yaml";

/** One YAML document of a manifest file. */
export interface Manifest {
  /** Path relative to the folder that was read, e.g. `postgres-dev/service.yaml`. */
  file: string;
  /** The document's position in its file, from 0. */
  index: number;
  // biome-ignore lint/suspicious/noExplicitAny: a Kubernetes object of any kind; the checks narrow it by kind.
  body: any;
}

export function label(m: Manifest): string {
  const name = m.body?.metadata?.name ?? `#${m.index}`;
  return `${m.file} ${m.body?.kind ?? "?"}/${name}`;
}

/** Every `.yaml`/`.yml` file under `dir`, relative paths, sorted. */
export function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (sub: string) => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (/\.ya?ml$/.test(e.name)) out.push(rel);
    }
  };
  walk("");
  return out.sort();
}

/** Every document of every YAML file under `dir`; a YAML error or warning throws, naming the file. */
export function loadManifests(dir: string): Manifest[] {
  const out: Manifest[] = [];
  for (const file of yamlFiles(dir)) {
    const docs = parseAllDocuments(readFileSync(join(dir, file), "utf8"));
    if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
    docs.forEach((doc, index) => {
      const issues = [...doc.errors, ...doc.warnings];
      if (issues.length > 0) throw new Error(`${file}: ${issues.map((e) => e.message).join("; ")}`);
      const body = doc.toJS();
      if (body !== null && body !== undefined) out.push({ file, index, body });
    });
  }
  return out;
}

/** Kustomize's own files are not Kubernetes objects; they are checked by the rules. */
export function isKustomization(m: Manifest): boolean {
  return m.body?.kind === "Kustomization";
}

/** `apps/v1` + `Deployment` -> `kubernetes-models/apps/v1/Deployment` (core `v1` kinds sit under `v1/`). */
function modelPath(m: Manifest): string | undefined {
  const { apiVersion, kind } = m.body ?? {};
  if (typeof apiVersion !== "string" || typeof kind !== "string") return undefined;
  if (!/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion) || !/^[A-Z][A-Za-z]+$/.test(kind)) return undefined;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

interface ValidatingModel {
  validate(): void;
}
type ModelClass = new (data: unknown) => ValidatingModel;

/** The OpenAPI validator's complaints: wrong types, missing required fields, values outside an enum. */
export async function openApiProblems(manifests: Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const m of manifests.filter((x) => !isKustomization(x))) {
    const path = modelPath(m);
    if (!path) {
      problems.push(`${label(m)}: apiVersion and kind are required`);
      continue;
    }
    let Model: ModelClass;
    try {
      const mod = (await import(path)) as Record<string, ModelClass>;
      Model = mod[m.body.kind] as ModelClass;
      if (typeof Model !== "function") throw new Error("no model class");
    } catch {
      problems.push(`${label(m)}: ${m.body.apiVersion} ${m.body.kind} is not a Kubernetes API type`);
      continue;
    }
    try {
      new Model(m.body).validate();
    } catch (err) {
      problems.push(`${label(m)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return problems;
}

/**
 * Unknown fields (and wrong types) found by compiling every document as an
 * object literal of its kind's TypeScript interface. The source files are
 * virtual, placed in `root` so that `kubernetes-models` resolves from
 * `root/node_modules`.
 */
export function typeProblems(manifests: Manifest[], root: string): string[] {
  const sources = new Map<string, { text: string; manifest: Manifest }>();
  const problems: string[] = [];
  manifests
    .filter((m) => !isKustomization(m))
    .forEach((m, i) => {
      const path = modelPath(m);
      if (!path) return; // openApiProblems reports it
      const text = [
        `import type { I${m.body.kind} as T } from "${path}";`,
        `export const doc: T = ${JSON.stringify(m.body, null, 2)};`,
        "",
      ].join("\n");
      sources.set(join(root, "test", `.kubernetes-manifest-${i}.mts`), { text, manifest: m });
    });
  if (sources.size === 0) return problems;
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => sources.has(f) || fileExists.call(host, f);
  host.readFile = (f) => sources.get(f)?.text ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, ...rest) => {
    const s = sources.get(f);
    return s ? ts.createSourceFile(f, s.text, lang) : getSourceFile.call(host, f, lang, ...rest);
  };
  const program = ts.createProgram([...sources.keys()], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const source = d.file ? sources.get(d.file.fileName) : undefined;
    const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!source) {
      problems.push(`${d.file ? relative(root, d.file.fileName) : "typescript"}: ${text}`);
      continue;
    }
    const where = d.start === undefined ? "" : ` at ${fieldPath(source.text, d.start)}`;
    problems.push(`${label(source.manifest)}${where}: ${text}`);
  }
  return problems;
}

/** The dotted path of the JSON key at `pos` in the generated literal, for messages a reader can find in the YAML. */
function fieldPath(text: string, pos: number): string {
  const stack: string[] = [];
  const body = text.indexOf("= {") + 2;
  let key = "";
  let inString = false;
  let current = "";
  const arrays: boolean[] = [];
  const index: number[] = [];
  for (let i = body; i < pos && i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") {
        current += text[++i];
      } else if (c === '"') {
        inString = false;
        key = current;
      } else current += c;
      continue;
    }
    if (c === '"') {
      inString = true;
      current = "";
    } else if (c === "{" || c === "[") {
      if (arrays.length > 0) stack.push(arrays[arrays.length - 1] ? `[${index[index.length - 1]}]` : key);
      arrays.push(c === "[");
      index.push(0);
    } else if (c === "}" || c === "]") {
      arrays.pop();
      index.pop();
      stack.pop();
    } else if (c === "," && arrays[arrays.length - 1]) {
      index[index.length - 1] = (index[index.length - 1] ?? 0) + 1;
    }
  }
  // The diagnostic usually points at a key: name it too.
  const at = /^"((?:[^"\\]|\\.)*)"\s*:/.exec(text.slice(pos));
  if (at?.[1] !== undefined) stack.push(at[1]);
  return stack.join(".").replace(/\.\[/g, "[") || "(top)";
}
