/**
 * Checks a reference backend applies to what the control plane sends: the
 * provider's JSON Schemas (draft 2020-12, with `x-update-constraint`) and the
 * update constraints between the stored and the requested values.
 *
 * Messages name the field and the rule and never echo a value, so a secret
 * that breaks a rule is not repeated in the answer or the log.
 */
import { isDeepStrictEqual } from "node:util";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import { UPDATE_CONSTRAINTS, type UpdateConstraint } from "../catalog";
import type { Values } from "./lifecycle";

export type JsonSchema = Record<string, unknown>;
/** Returns the problems of `value`, each prefixed with `section`; empty when valid. */
export type Check = (value: unknown, section: string) => string[];

/** A draft 2020-12 validator that knows the catalog's vendor keyword and rejects sloppy schemas. */
export function schemaCompiler(): (schema: JsonSchema) => Check {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addKeyword({
    keyword: "x-update-constraint",
    schemaType: "string",
    metaSchema: { enum: [...UPDATE_CONSTRAINTS] },
  });
  // Plans repeat the same parameter schemas; compile each distinct one once.
  const compiled = new Map<string, ValidateFunction>();
  return (schema) => {
    const text = JSON.stringify(schema);
    const validate = compiled.get(text) ?? ajv.compile(schema);
    compiled.set(text, validate);
    return (value, section) =>
      validate(value) ? [] : (validate.errors ?? []).map((e) => describe(e, section));
  };
}

function describe(e: ErrorObject, section: string): string {
  const at = section + e.instancePath.replaceAll("/", ".");
  switch (e.keyword) {
    case "required":
      return `${at}.${e.params.missingProperty}: is required`;
    case "additionalProperties":
      return `${at}.${e.params.additionalProperty}: is not a known field`;
    case "enum":
      return `${at}: must be one of ${(e.params.allowedValues as unknown[]).join(", ")}`;
    case "const":
      return `${at}: must be ${String(e.params.allowedValue)}`;
    default:
      return `${at}: ${e.message ?? "is invalid"}`;
  }
}

export function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> {
  const props = schema.properties;
  return props && typeof props === "object" ? (props as Record<string, JsonSchema>) : {};
}

/** `values` with every missing top-level property that has a default filled in. */
export function withDefaults(schema: JsonSchema, values: Values): Values {
  const out: Values = { ...values };
  for (const [name, prop] of Object.entries(propertiesOf(schema))) {
    if (out[name] === undefined && prop.default !== undefined) out[name] = structuredClone(prop.default);
  }
  return out;
}

export function constraintOf(schema: JsonSchema): UpdateConstraint | undefined {
  const c = schema["x-update-constraint"];
  return (UPDATE_CONSTRAINTS as readonly unknown[]).includes(c) ? (c as UpdateConstraint) : undefined;
}

/** Whether changing `field` from `before` to `after` breaks `constraint`; the message when it does. */
export function constraintViolation(
  constraint: UpdateConstraint | undefined,
  field: string,
  before: unknown,
  after: unknown,
): string | undefined {
  if (constraint === undefined || isDeepStrictEqual(before, after)) return undefined;
  switch (constraint) {
    case "immutable":
      return `${field}: cannot change after create (immutable)`;
    case "increase-only":
      if (typeof before === "number" && typeof after === "number" && after < before) {
        return `${field}: may only increase (increase-only)`;
      }
      return undefined;
    case "minor-upgrade-only": {
      const from = majorMinor(before);
      const to = majorMinor(after);
      if (!from || !to) return undefined; // the schema check reports malformed versions
      if (to.major !== from.major || to.minor < from.minor) {
        return `${field}: may only move to a newer minor version of the same major version (minor-upgrade-only)`;
      }
      return undefined;
    }
  }
}

/** Update-constraint violations between two values of an object schema's top-level properties. */
export function updateViolations(
  schema: JsonSchema,
  before: Values,
  after: Values,
  section: string,
): string[] {
  const problems: string[] = [];
  for (const [name, prop] of Object.entries(propertiesOf(schema))) {
    const v = constraintViolation(constraintOf(prop), `${section}.${name}`, before[name], after[name]);
    if (v) problems.push(v);
  }
  return problems;
}

function majorMinor(v: unknown): { major: number; minor: number } | undefined {
  const m = typeof v === "string" ? /^(\d+)\.(\d+)/.exec(v) : null;
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}
