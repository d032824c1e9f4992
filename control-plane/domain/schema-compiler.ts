/**
 * Compiles the JSON Schemas that providers bring, so that a hostile or sloppy
 * schema can neither grow memory, nor stall the event loop, nor turn into a
 * 500 later:
 * - every root schema gets an Ajv instance of its own, held only by a WeakMap
 *   keyed by the schema object; when the catalog is reloaded the old objects,
 *   their validators and their Ajv instances go away together, and `$id`s of
 *   two providers (or two versions of one) never meet;
 * - `pattern` and `patternProperties` run on RE2 (linear time) with a work
 *   budget per validation, never on the backtracking RegExp engine;
 * - size, depth, pattern complexity and `$schema` are checked when the
 *   provider is registered, so what is stored always compiles.
 */
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import type { RegExpEngine } from "ajv/dist/types";
import addFormats from "ajv-formats";
import { RE2JS } from "re2js";

type JsonSchema = Record<string, unknown>;

export const SCHEMA_LIMITS = {
  /** Serialized size of one schema. The bundled ones are under 1 KiB. */
  bytes: 64 * 1024,
  /** Nesting of objects and arrays inside one schema. */
  depth: 32,
  /** Characters of one pattern. */
  patternLength: 1_000,
  /** RE2 program size of one pattern; `[a-z]{0,62}` is about 130. */
  patternInstructions: 2_000,
  /**
   * Pattern work per validation, in (program instructions x characters
   * tested). RE2's slowest path costs a few ns per unit, so this bounds the
   * time patterns can take in one request to well under a second, while a
   * 1 MiB string still fits against a small pattern.
   */
  patternWork: 20_000_000,
} as const;

const DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema";

/** A schema the control plane will not store; `path` is the offending spot under the field. */
export class SchemaRefusal extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** A value too long to check against its pattern within the budget. */
export class PatternBudgetExceeded extends Error {
  constructor(
    readonly pattern: string,
    readonly length: number,
  ) {
    super(`a value of ${length} characters is too long to check against pattern ${JSON.stringify(pattern)}`);
  }
}

let patternWorkLeft: number = SCHEMA_LIMITS.patternWork;

/** Runs one validation with a fresh pattern work budget (validation is synchronous). */
export function withPatternBudget<T>(fn: () => T): T {
  patternWorkLeft = SCHEMA_LIMITS.patternWork;
  return fn();
}

/**
 * ECMA-262 escapes RE2 spells differently: `\uXXXX` and `\u{X}` become
 * `\x{X}`. Everything else goes to RE2 as written; what it cannot parse
 * (backreferences, lookaround) is refused.
 */
function toRe2Syntax(pattern: string): string {
  if (!pattern.includes("\\u")) return pattern;
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const rest = pattern.slice(i + 1);
    const braced = /^u\{([0-9a-fA-F]{1,6})\}/.exec(rest);
    const plain = braced ? null : /^u([0-9a-fA-F]{4})/.exec(rest);
    const hex = braced?.[1] ?? plain?.[1];
    if (hex !== undefined) {
      out += `\\x{${hex}}`;
      i += (braced ?? plain)?.[0].length ?? 0;
    } else {
      out += c + (pattern[i + 1] ?? "");
      i++;
    }
  }
  return out;
}

interface CompiledPattern {
  readonly test: (s: string) => boolean;
  readonly instructions: number;
}

/** Compiles a pattern with RE2; throws a SchemaRefusal-ready message when it cannot be used. */
function compilePattern(pattern: string): CompiledPattern {
  if (pattern.length > SCHEMA_LIMITS.patternLength) {
    throw new Error(`is longer than ${SCHEMA_LIMITS.patternLength} characters`);
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(toRe2Syntax(pattern));
  } catch (error) {
    throw new Error(
      `cannot run in linear time (RE2 syntax: no backreferences, no lookaround): ${(error as Error).message}`,
    );
  }
  const instructions = programSize(re, pattern);
  if (instructions > SCHEMA_LIMITS.patternInstructions) {
    throw new Error(
      `is too complex: it compiles to ${instructions} RE2 instructions, at most ${SCHEMA_LIMITS.patternInstructions} are allowed`,
    );
  }
  return { test: (s) => re.test(s), instructions };
}

/** RE2's program size (internal field of re2js 2.x, pinned; a unit test notices if it moves). */
function programSize(re: RE2JS, pattern: string): number {
  const inst = (re as unknown as { re2Input?: { prog?: { inst?: unknown[] } } }).re2Input?.prog?.inst;
  return Array.isArray(inst) ? inst.length : pattern.length * 8;
}

/** The engine Ajv uses for every pattern: RE2 with the per-validation work budget. */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string) => {
    const compiled = compilePattern(pattern);
    return {
      test(s: string): boolean {
        const work = s.length * compiled.instructions;
        if (work > patternWorkLeft) throw new PatternBudgetExceeded(pattern, s.length);
        patternWorkLeft -= work;
        return compiled.test(s);
      },
      // Ajv shares compiled patterns within one schema by this key.
      toString: () => pattern,
    };
  },
  { code: "landformLinearRegExp" },
);

/** Checks schemas against the 2020-12 meta-schema only; it compiles no provider schema, so it holds none. */
const metaValidator = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false });

function newAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    useDefaults: true,
    // The meta-schema check is done once, by metaValidator; this instance only compiles.
    meta: false,
    validateSchema: false,
    addUsedSchema: false,
    allowMatchingProperties: true,
    logger: false,
    code: { regExp: linearRegExp },
  });
  addFormats(ajv);
  ajv.addKeyword({ keyword: "x-update-constraint", schemaType: "string" });
  return ajv;
}

const compiled = new WeakMap<object, ValidateFunction>();

/** The validator of `schema`, compiled on first use; throws when it does not compile. */
export function validatorOf(schema: JsonSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = newAjv().compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

/**
 * Checks that `schema` may be stored: bounded in size and depth, draft
 * 2020-12, valid against its meta-schema, every pattern runnable by RE2
 * within the limits, and compiling (so `$ref`s resolve inside it).
 * Throws a SchemaRefusal naming the spot and the rule.
 */
export function checkStorableSchema(schema: JsonSchema): void {
  const bytes = JSON.stringify(schema).length;
  if (bytes > SCHEMA_LIMITS.bytes) {
    throw new SchemaRefusal("", `is ${bytes} bytes; a schema may have at most ${SCHEMA_LIMITS.bytes}`);
  }
  walk(schema, "", 0);
  let valid: boolean;
  try {
    valid = metaValidator.validateSchema(schema) as boolean;
  } catch (error) {
    throw new SchemaRefusal("", `is not a valid JSON Schema (${(error as Error).message})`);
  }
  if (!valid) {
    const text = metaValidator.errorsText(metaValidator.errors, { dataVar: "schema" });
    throw new SchemaRefusal("", `is not a valid JSON Schema 2020-12 (${clip(text)})`);
  }
  try {
    newAjv().compile(schema);
  } catch (error) {
    throw new SchemaRefusal(
      "",
      `does not compile (${clip((error as Error).message)}); \`$ref\` may only point inside the schema`,
    );
  }
}

/** Depth, `$schema` and patterns, found wherever they sit (keys are checked only where they are strings). */
function walk(node: unknown, path: string, depth: number): void {
  if (node === null || typeof node !== "object") return;
  if (depth >= SCHEMA_LIMITS.depth) {
    throw new SchemaRefusal(path, `nests deeper than ${SCHEMA_LIMITS.depth} levels`);
  }
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) walk(node[i], `${path}.${i}`, depth + 1);
    return;
  }
  const record = node as Record<string, unknown>;
  const declared = record.$schema;
  if (typeof declared === "string" && declared.replace(/#$/, "") !== DRAFT_2020_12) {
    throw new SchemaRefusal(
      `${path}.$schema`,
      `must be ${DRAFT_2020_12} or absent; only JSON Schema draft 2020-12 is supported`,
    );
  }
  if (typeof record.pattern === "string") checkPattern(`${path}.pattern`, record.pattern);
  const patterned = record.patternProperties;
  if (patterned !== null && typeof patterned === "object" && !Array.isArray(patterned)) {
    for (const key of Object.keys(patterned)) checkPattern(`${path}.patternProperties`, key);
  }
  for (const [key, value] of Object.entries(record)) {
    if (DATA_KEYWORDS.has(key)) depthOnly(value, `${path}.${key}`, depth + 1);
    else walk(value, `${path}.${key}`, depth + 1);
  }
}

/** Keywords whose values are data, not schemas: a "pattern" key in there is not a pattern. */
const DATA_KEYWORDS = new Set(["const", "enum", "default", "examples"]);

function depthOnly(node: unknown, path: string, depth: number): void {
  if (node === null || typeof node !== "object") return;
  if (depth >= SCHEMA_LIMITS.depth) {
    throw new SchemaRefusal(path, `nests deeper than ${SCHEMA_LIMITS.depth} levels`);
  }
  for (const [key, value] of Object.entries(node)) depthOnly(value, `${path}.${key}`, depth + 1);
}

function checkPattern(path: string, pattern: string): void {
  try {
    compilePattern(pattern);
  } catch (error) {
    throw new SchemaRefusal(path, `${JSON.stringify(clip(pattern, 80))} ${(error as Error).message}`);
  }
}

function clip(s: string, max = 300): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
