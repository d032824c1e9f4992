/**
 * Checks user input against a provider's catalog entry: JSON Schemas for plan
 * parameters, config, secrets and the backup store, and the vendor keyword
 * `x-update-constraint` (immutable, increase-only, minor-upgrade-only) plus
 * read-only plan parameters on update. Every message names the field and the
 * rule, and never echoes a secret value.
 */
import type { ErrorObject } from "ajv/dist/2020";
import {
  constraintBreach,
  constraintOf,
  propertiesOf,
  type UpdateConstraint,
} from "../../sdk/catalog-keywords";
import type * as schemas from "../../sdk/schemas";
import {
  checkStorableSchema,
  PatternBudgetExceeded,
  SchemaRefusal,
  validatorOf,
  withPatternBudget,
} from "./schema-compiler";
import { badRequest, DomainError } from "./types";

type JsonSchema = Record<string, unknown>;

/** At most this many failing fields are named in one answer. */
const MAX_MESSAGES = 20;

/**
 * Largest config, secrets or backup settings a service may keep, serialized.
 * Records live in memory: without a bound, a team could fill the process
 * with valid megabyte configs. Real ones are well under 1 KiB.
 */
export const MAX_VALUES_BYTES = 64 * 1024;

const unprocessable = (detail: string) => new DomainError(422, "Unprocessable Entity", detail);

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

/** Throws a 422 naming the spot and the rule when `schema` may not be stored (see schema-compiler). */
export function checkJsonSchema(field: string, schema: JsonSchema): void {
  try {
    checkStorableSchema(schema);
  } catch (error) {
    if (!(error instanceof SchemaRefusal)) throw error;
    throw unprocessable(`${field}${error.path}: ${error.message}`);
  }
}

/** Checks every JSON Schema a provider definition holds; the first refusal is thrown. */
export function checkProviderSchemas(provider: schemas.Provider): void {
  checkJsonSchema("configSchema", provider.configSchema);
  checkJsonSchema("secretsSchema", provider.secretsSchema);
  checkJsonSchema("detailsSchema", provider.detailsSchema);
  provider.plans.forEach((plan, i) => {
    for (const [name, parameter] of Object.entries(plan.parameters)) {
      checkJsonSchema(`plans.${i}.parameters.${name}.schema`, parameter.schema);
    }
  });
  if (provider.backups) {
    checkJsonSchema("backups.configSchema", provider.backups.configSchema);
    checkJsonSchema("backups.secretsSchema", provider.backups.secretsSchema);
  }
}

/**
 * Validates `value` (mutating it to fill schema defaults) and throws a 400
 * naming every failing field, or the size when it is over MAX_VALUES_BYTES. `field` is the request path, e.g. "config".
 * A stored schema that no longer compiles (stored before registration
 * checked it) is a 422 about the provider, not a 500.
 */
export function checkAgainstSchema(field: string, schema: JsonSchema | undefined, value: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? "");
  if (bytes > MAX_VALUES_BYTES) {
    throw badRequest(`${field}: is ${bytes} bytes as JSON; at most ${MAX_VALUES_BYTES} are kept`);
  }
  if (!schema) return;
  let fn: ReturnType<typeof validatorOf>;
  try {
    fn = validatorOf(schema);
  } catch (error) {
    throw unprocessable(
      `${field}: the provider's schema for it cannot be used (${(error as Error).message.slice(0, 200)}); the provider must be fixed`,
    );
  }
  let valid: boolean;
  try {
    valid = withPatternBudget(() => fn(value) as boolean);
  } catch (error) {
    if (error instanceof PatternBudgetExceeded) throw badRequest(`${field}: ${error.message}`);
    throw error;
  }
  if (!valid) {
    const messages = [...new Set((fn.errors ?? []).map((e) => describeError(field, e)))];
    const shown = messages.slice(0, MAX_MESSAGES).join("; ");
    throw badRequest(
      messages.length > MAX_MESSAGES ? `${shown}; and ${messages.length - MAX_MESSAGES} more` : shown,
    );
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
    // Validated against the stored schema object itself, so its compiled validator is reused.
    checkAgainstSchema(`plan.parameters.${name}`, schema, value);
    parameters[name] = value as number;
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
