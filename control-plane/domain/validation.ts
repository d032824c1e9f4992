/**
 * Checks user input against a provider's catalog entry: JSON Schemas for plan
 * parameters, config, secrets and the backup store, and the vendor keyword
 * `x-update-constraint` (immutable, increase-only, minor-upgrade-only) plus
 * read-only plan parameters on update. Every message names the field and the
 * rule, and never echoes a secret value.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { constraintBreach, constraintOf, propertiesOf, type UpdateConstraint } from "../../sdk/catalog";
import type * as schemas from "../../sdk/schemas";
import { badRequest } from "./types";

type JsonSchema = Record<string, unknown>;

const ajv = new Ajv2020({ strict: false, allErrors: true, useDefaults: true });
addFormats(ajv);
ajv.addKeyword({ keyword: "x-update-constraint", schemaType: "string" });
const compiled = new WeakMap<object, ValidateFunction>();

function validator(schema: JsonSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

function describeError(field: string, e: ErrorObject): string {
  const path = field + e.instancePath.replace(/\//g, ".");
  switch (e.keyword) {
    case "required":
      return `${path}.${String(e.params.missingProperty)}: is required`;
    case "additionalProperties":
      return `${path}.${String(e.params.additionalProperty)}: is not a known field (allowed: ${allowed(e)})`;
    case "enum":
      return `${path}: must be one of ${JSON.stringify(e.params.allowedValues)}`;
    default:
      return `${path}: ${e.message ?? "is invalid"}`;
  }
}

function allowed(e: ErrorObject): string {
  const props = (e.parentSchema as JsonSchema | undefined)?.properties;
  return props && typeof props === "object" ? Object.keys(props).join(", ") : "none";
}

/** Throws a 400 when `schema` is not a JSON Schema that compiles. */
export function checkJsonSchema(field: string, schema: JsonSchema): void {
  try {
    validator(schema);
  } catch (error) {
    throw badRequest(`${field}: is not a valid JSON Schema (${(error as Error).message})`);
  }
}

/**
 * Validates `value` (mutating it to fill schema defaults) and throws a 400
 * naming every failing field. `field` is the request path, e.g. "config".
 */
export function checkAgainstSchema(field: string, schema: JsonSchema | undefined, value: unknown): void {
  if (!schema) return;
  const fn = validator(schema);
  if (!fn(value)) {
    const messages = [...new Set((fn.errors ?? []).map((e) => describeError(field, e)))];
    throw badRequest(messages.join("; "));
  }
}

/** Throws when changing `before` to `after` breaks `constraint`; `field` names it in the message. */
export function checkUpdateConstraint(
  field: string,
  constraint: UpdateConstraint | undefined,
  before: unknown,
  after: unknown,
  secret = false,
): void {
  const shown = (v: unknown) => (secret ? "(secret)" : JSON.stringify(v));
  switch (constraintBreach(constraint, before, after)) {
    case "changed":
      throw badRequest(
        `${field}: is immutable (x-update-constraint: immutable) and cannot change from ${shown(before)} to ${shown(after)}; create a new service instead`,
      );
    case "decreased":
      throw badRequest(
        `${field}: can only increase (x-update-constraint: increase-only), from ${before} to ${after} is a decrease`,
      );
    case "not a minor upgrade":
      throw badRequest(
        `${field}: allows only minor upgrades within the same major version (x-update-constraint: minor-upgrade-only), not ${shown(before)} to ${shown(after)}`,
      );
  }
}

/** The value a read-only plan parameter has in a plan (its const, else its default). */
function fixedValue(schema: JsonSchema): unknown {
  return schema.const ?? schema.default;
}

/**
 * Resolves and checks a plan selection: the plan must exist, read-only
 * parameters take the plan's value (and may only be given with it), missing
 * parameters take their default, and each value must satisfy its schema.
 */
export function resolvePlan(
  provider: schemas.Provider,
  selection: schemas.PlanSelection,
): schemas.PlanSelection {
  const plan = provider.plans.find((p) => p.id === selection.id);
  if (!plan) {
    const ids = provider.plans.map((p) => `${p.id} (${p.name})`).join(", ");
    throw badRequest(
      `plan.id: plan ${selection.id} does not exist for ${provider.name} ${provider.schemaVersion}; plans are ${ids}`,
    );
  }
  const parameters: Record<string, number> = {};
  for (const name of Object.keys(selection.parameters)) {
    if (!(name in plan.parameters)) {
      throw badRequest(
        `plan.parameters.${name}: is not a parameter of plan ${plan.id} (parameters: ${Object.keys(plan.parameters).join(", ") || "none"})`,
      );
    }
  }
  for (const [name, parameter] of Object.entries(plan.parameters)) {
    const schema = parameter.schema;
    const given = selection.parameters[name];
    if (schema.readOnly === true) {
      const fixed = fixedValue(schema);
      if (given !== undefined && fixed !== undefined && given !== fixed) {
        throw badRequest(
          `plan.parameters.${name}: is read-only in plan ${plan.id} and is ${JSON.stringify(fixed)}`,
        );
      }
      if (typeof fixed === "number") parameters[name] = fixed;
      continue;
    }
    const value = given ?? schema.default;
    if (value === undefined) {
      if ((schema.minimum as number | undefined) !== undefined) parameters[name] = schema.minimum as number;
      continue;
    }
    const holder = { [name]: value };
    checkAgainstSchema("plan.parameters", { type: "object", properties: { [name]: schema } }, holder);
    parameters[name] = holder[name] as number;
  }
  return { id: plan.id, parameters };
}

/** Checks a plan change against each parameter's update constraint. */
export function checkPlanUpdate(
  provider: schemas.Provider,
  before: schemas.PlanSelection,
  after: schemas.PlanSelection,
): void {
  const plan = provider.plans.find((p) => p.id === after.id);
  for (const [name, parameter] of Object.entries(plan?.parameters ?? {})) {
    if (parameter.schema.readOnly === true) continue;
    checkUpdateConstraint(
      `plan.parameters.${name}`,
      constraintOf(parameter.schema),
      before.parameters[name],
      after.parameters[name],
    );
  }
}

/** Checks changed config or secret keys against their schema's update constraints. */
export function checkValuesUpdate(
  field: "config" | "secrets",
  schema: JsonSchema,
  before: schemas.Values,
  after: schemas.Values,
): void {
  for (const [name, sub] of Object.entries(propertiesOf(schema))) {
    if (!(name in before)) continue;
    checkUpdateConstraint(
      `${field}.${name}`,
      constraintOf(sub),
      before[name],
      after[name],
      field === "secrets",
    );
  }
}
