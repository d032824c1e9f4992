/**
 * CDK helpers for the suites: the real `cdktf get` / `cdktn get` against the
 * provider from the test's mirror, and the public shape of a TypeScript
 * module (what a user can name and call), read with the TypeScript
 * compiler, so two bindings can be compared member by member.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { ensureNodeRuntime } from "../../cli/node-runtimes";
import { ROOT } from "./serve";
import { mustRun, PROVIDER_SOURCE, type Workspace } from "./terraform";

export const CDKTN = path.join(ROOT, "node_modules", ".bin", "cdktn");
export const CDKTF_CLI = path.join(ROOT, "node_modules", ".bin", "cdktf");

/** Whether this Node can run the cdktn CLI (22.19 or later). */
export function runsCdktnCli(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 19);
}

/**
 * The environment for the cdktn CLI: the running Node first on PATH when it
 * can run the CLI (the Node.js matrix runs this suite on 22 and 24), else
 * Node 22 from the tools cache.
 */
export async function cdktnEnv(ws: Workspace): Promise<NodeJS.ProcessEnv> {
  if (runsCdktnCli()) {
    return { ...ws.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${ws.env.PATH ?? ""}` };
  }
  const node22 = await ensureNodeRuntime(22, { env: ws.env });
  return node22.env(ws.env);
}

/**
 * Runs `<cli> get` for this provider in `dir` (a new folder) and returns the
 * folder of the generated modules (`.gen/providers/codesphere`). The folder
 * gets a node_modules link to the package's, so the generated files compile
 * against the same core library as ours.
 */
export async function generateWithCli(
  cli: string,
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ dir: string; stdout: string }> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "cdktf.json"),
    JSON.stringify({
      language: "typescript",
      app: "node main.js",
      sendCrashReports: "false",
      terraformProviders: [`${PROVIDER_SOURCE}@>= 0.1.0`],
      codeMakerOutput: ".gen",
    }),
  );
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
  const r = await mustRun(cli, ["get"], { cwd: dir, env, timeoutMs: 180_000 });
  return { dir: path.join(dir, ".gen", "providers", "codesphere"), stdout: r.stdout };
}

/** One exported name: its kind and every public member, with types as the compiler prints them. */
export type ExportShape = { kind: string; members: Record<string, string> };
export type ModuleShape = Record<string, ExportShape>;

const FORMAT = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.WriteArrayAsGenericType;

/**
 * A type as text, unions in a fixed order: the compiler prints union members
 * in the order it first met them, which differs between two programs that
 * mean the same.
 */
function typeText(checker: ts.TypeChecker, type: ts.Type): string {
  if (!type.isUnion()) return checker.typeToString(type, undefined, FORMAT);
  const parts = type.types.map((t) => checker.typeToString(t, undefined, FORMAT));
  const bool = parts.includes("true") && parts.includes("false");
  const rest = parts.filter((p) => !bool || (p !== "true" && p !== "false"));
  return [...new Set([...(bool ? ["boolean"] : []), ...rest])].sort().join(" | ");
}

function signatureText(checker: ts.TypeChecker, sig: ts.Signature, at: ts.Node): string {
  const params = sig.parameters.map((p) => {
    const decl = p.valueDeclaration as ts.ParameterDeclaration | undefined;
    const optional = decl && (decl.questionToken || decl.initializer) ? "?" : "";
    return `${p.name}${optional}: ${typeText(checker, checker.getTypeOfSymbolAtLocation(p, at))}`;
  });
  return `(${params.join(", ")}) => ${typeText(checker, sig.getReturnType())}`;
}

function isHidden(decl: ts.Declaration): boolean {
  const flags = ts.getCombinedModifierFlags(decl);
  return (
    (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0 ||
    ts.isPrivateIdentifier((decl as ts.NamedDeclaration).name ?? ts.factory.createIdentifier("x"))
  );
}

function membersOf(checker: ts.TypeChecker, type: ts.Type, at: ts.Node): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of checker.getPropertiesOfType(type)) {
    const decls = p.getDeclarations() ?? [];
    if (decls.length === 0 || decls.some(isHidden)) continue;
    const parts: string[] = [];
    for (const d of decls) {
      if (ts.isGetAccessorDeclaration(d)) {
        parts.push(`get ${typeText(checker, checker.getTypeOfSymbolAtLocation(p, at))}`);
      } else if (ts.isSetAccessorDeclaration(d)) {
        const param = d.parameters[0]!;
        parts.push(`set ${typeText(checker, checker.getTypeAtLocation(param))}`);
      } else if (ts.isMethodDeclaration(d) || ts.isMethodSignature(d)) {
        const sig = checker.getSignatureFromDeclaration(d)!;
        parts.push(`method ${signatureText(checker, sig, at)}`);
      } else {
        const optional = (p.flags & ts.SymbolFlags.Optional) !== 0 ? "?" : "";
        parts.push(`${optional}${typeText(checker, checker.getTypeOfSymbolAtLocation(p, at))}`);
      }
    }
    out[p.name] = [...new Set(parts)].sort().join("; ");
  }
  return out;
}

/** The public shape of each module in `files`, by file. */
export function moduleShapes(files: string[]): Record<string, ModuleShape> {
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
  });
  const checker = program.getTypeChecker();
  const result: Record<string, ModuleShape> = {};
  for (const file of files) {
    const source = program.getSourceFile(file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!source || !moduleSymbol) throw new Error(`${file}: not a module the compiler could read`);
    const shape: ModuleShape = {};
    for (let sym of checker.getExportsOfModule(moduleSymbol)) {
      const name = sym.name;
      if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      if (sym.flags & ts.SymbolFlags.Class) {
        const ctorType = checker.getTypeOfSymbolAtLocation(sym, source);
        const instance = checker.getDeclaredTypeOfSymbol(sym);
        const statics = membersOf(checker, ctorType, source);
        delete statics.prototype;
        shape[name] = {
          kind: "class",
          members: {
            ...Object.fromEntries(Object.entries(statics).map(([k, v]) => [`static ${k}`, v])),
            new: ctorType
              .getConstructSignatures()
              .map((s) => signatureText(checker, s, source))
              .join(" | "),
            ...membersOf(checker, instance, source),
          },
        };
      } else if (sym.flags & ts.SymbolFlags.Interface) {
        shape[name] = {
          kind: "interface",
          members: membersOf(checker, checker.getDeclaredTypeOfSymbol(sym), source),
        };
      } else if (sym.flags & ts.SymbolFlags.Function) {
        const t = checker.getTypeOfSymbolAtLocation(sym, source);
        shape[name] = {
          kind: "function",
          members: {
            call: t
              .getCallSignatures()
              .map((s) => signatureText(checker, s, source))
              .join(" | "),
          },
        };
      } else {
        shape[name] = { kind: "other", members: {} };
      }
    }
    result[file] = shape;
  }
  return result;
}

/**
 * Compiles the generated TypeScript modules of `dir` to JavaScript next to
 * them (transpile only), so a test can run them.
 */
export function transpileTree(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) transpileTree(file);
    if (!e.isFile() || !e.name.endsWith(".ts") || e.name.endsWith(".d.ts")) continue;
    const { outputText } = ts.transpileModule(fs.readFileSync(file, "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    fs.writeFileSync(file.replace(/\.ts$/, ".js"), outputText);
  }
}
