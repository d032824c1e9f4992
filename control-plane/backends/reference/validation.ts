/**
 * Checks a reference backend applies to what the control plane sends: the
 * provider's JSON Schemas (draft 2020-12, with `x-update-constraint`) and the
 * update constraints between the stored and the requested values.
 *
 * Messages name the field and the rule and never echo a value, so a secret
 * that breaks a rule is not repeated in the answer or the log.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import {
  constraintBreach,
  constraintOf,
  propertiesOf,
  UPDATE_CONSTRAINTS,
  type UpdateConstraint,
} from "../../../sdk/catalog-keywords";
import type { Values } from "./operations";

export type JsonSchema = Record<string, unknown>;
/** Returns the problems of `value`, each prefixed with `section`; empty when valid. */
export type Check = (value: unknown, section: string) => string[];

/** A draft 2020-12 validator that knows the catalog's vendor keyword and rejects sloppy schemas. */
export function schemaCompiler(): (schema: JsonSchema) => Check {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // The core catalog's schemas use `format` (password, uri, hostname).
  addFormats(ajv);
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

/** `values` with every missing top-level property that has a default filled in. */
export { constraintOf, propertiesOf };

export function withDefaults(schema: JsonSchema, values: Values): Values {
  const out: Values = { ...values };
  for (const [name, prop] of Object.entries(propertiesOf(schema))) {
    if (out[name] === undefined && prop.default !== undefined) out[name] = structuredClone(prop.default);
  }
  return out;
}

/** Whether changing `field` from `before` to `after` breaks `constraint`; the message when it does. */
export function constraintViolation(
  constraint: UpdateConstraint | undefined,
  field: string,
  before: unknown,
  after: unknown,
): string | undefined {
  switch (constraintBreach(constraint, before, after)) {
    case "changed":
      return `${field}: cannot change after create (immutable)`;
    case "decreased":
      return `${field}: may only increase (increase-only)`;
    case "not a minor upgrade":
      return `${field}: may only move to a newer minor version of the same major version (minor-upgrade-only)`;
    default:
      return undefined;
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
