/**
 * Inputs checked against the live provider catalog, before anything is sent:
 * unknown provider, version or plan, schema violations, and pause or backups
 * on a provider without the capability, each reported with the field's path
 * and the rule. The checked spec comes back with the catalog's defaults
 * filled in (config defaults, plan parameters, the canonical `v15` version),
 * the same way the API fills them, so the state recorded after create equals
 * what the API reports and a refresh finds no phantom drift.
 *
 * Values not known yet (a preview) are left alone and not checked.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { propertiesOf } from "../../sdk/catalog-keywords";
import type * as schemas from "../../sdk/schemas";
import type { ServiceSpec } from "./plan-changes";

type JsonSchema = Record<string, unknown>;

export interface CheckFailure {
  /** API path of the field, e.g. `plan.parameters.storage`. */
  path: string;
  reason: string;
}

export interface CheckOptions {
  /** Tells whether a value is not known yet (a preview); such values are not checked. */
  isUnknown?: (value: unknown) => boolean;
}

export interface CheckResult {
  /** The spec with catalog defaults; unchanged where the catalog could not be consulted. */
  spec: ServiceSpec;
  /** The catalog entry, when the provider and version were found. */
  provider: schemas.Provider | undefined;
  failures: CheckFailure[];
}

let ajv: Ajv2020 | undefined;
const compiled = new WeakMap<object, ValidateFunction>();
/**
 * The same validators by the schema's text: every plan fetches the catalog
 * anew, and a long-lived process (the resident Terraform provider) would
 * otherwise compile, and ajv keep, each schema once per fetch. Distinct
 * texts are few (one per provider version and plan parameter).
 */
const compiledByText = new Map<string, ValidateFunction>();
const MAX_COMPILED_TEXTS = 500;

function validator(schema: JsonSchema): ValidateFunction {
  // Bounded, however many distinct schemas a server sends a long-lived process: ajv keeps
  // what it compiled too, so both start over.
  if (compiledByText.size >= MAX_COMPILED_TEXTS) {
    compiledByText.clear();
    ajv = undefined;
  }
  if (!ajv) {
    ajv = new Ajv2020({
      strict: false,
      allErrors: true,
      useDefaults: true,
      // No meta-schema check: the control plane checks every provider schema against
      // the 2020-12 meta-schema when it is registered, and compiling the meta-schema
      // was a quarter of a plugin process's first plan.
      meta: false,
      validateSchema: false,
    });
    addFormats(ajv);
    ajv.addKeyword({ keyword: "x-update-constraint", schemaType: "string" });
  }
  let fn = compiled.get(schema);
  if (!fn) {
    const text = JSON.stringify(schema);
    fn = compiledByText.get(text);
    if (!fn) {
      fn = ajv.compile(schema);
      compiledByText.set(text, fn);
    }
    compiled.set(schema, fn);
  }
  return fn;
}

/** Validators of single plan parameters, per parameter schema: every plan of every resource reuses them. */
const parameterValidators = new WeakMap<object, Map<string, ValidateFunction>>();

function parameterValidator(name: string, schema: JsonSchema): ValidateFunction {
  let byName = parameterValidators.get(schema);
  if (!byName) {
    byName = new Map();
    parameterValidators.set(schema, byName);
  }
  let fn = byName.get(name);
  if (!fn) {
    // A new wrapper object each time would make ajv compile (and keep) a new function per call.
    fn = validator({ type: "object", properties: { [name]: schema } });
    byName.set(name, fn);
  }
  return fn;
}

/** `15` and `v15` name the same schema version; the API answers with `v15`. */
export function canonicalVersion(version: string): string {
  return /^[0-9]/.test(version) ? `v${version}` : version;
}

/** The catalog entry for a provider name and schema version (`15` or `v15`). */
export function findProvider(
  catalog: readonly schemas.Provider[],
  name: string,
  version: string,
): schemas.Provider | undefined {
  const wanted = canonicalVersion(version);
  return catalog.find((p) => p.name === name && (p.schemaVersion === wanted || p.version === wanted));
}

/**
 * Checks a spec against the catalog (as listed for the spec's team) and
 * returns it with defaults. Secrets are checked but never quoted in a reason.
 */
export function checkSpec(
  input: ServiceSpec,
  catalog: readonly schemas.Provider[],
  options: CheckOptions = {},
): CheckResult {
  const unknown = options.isUnknown ?? (() => false);
  const failures: CheckFailure[] = [];
  const spec: ServiceSpec = structuredClone(input);
  const fail = (path: string, reason: string) => failures.push({ path, reason });

  if (unknown(spec.provider) || unknown(spec.provider?.name) || unknown(spec.provider?.version)) {
    return { spec, provider: undefined, failures };
  }
  const named = catalog.filter((p) => p.name === spec.provider.name);
  if (named.length === 0) {
    const names = [...new Set(catalog.map((p) => p.name))].sort().join(", ");
    fail("provider.name", `no provider named "${spec.provider.name}" in the catalog (available: ${names})`);
    return { spec, provider: undefined, failures };
  }
  const provider = findProvider(named, spec.provider.name, spec.provider.version);
  if (!provider) {
    const versions = named.map((p) => p.schemaVersion).join(", ");
    fail(
      "provider.version",
      `${spec.provider.name} has no schema version "${spec.provider.version}" (available: ${versions})`,
    );
    return { spec, provider: undefined, failures };
  }
  spec.provider = { name: provider.name, version: provider.schemaVersion };

  if (!unknown(spec.plan)) checkPlan(spec, provider, fail, unknown);
  if (!unknown(spec.config)) {
    spec.config = checkValues("config", provider.configSchema, spec.config, fail, unknown, false);
  }
  if (!unknown(spec.secrets)) {
    spec.secrets = checkValues("secrets", provider.secretsSchema, spec.secrets, fail, unknown, true);
  }

  if (spec.pause === true && !provider.capabilities?.pause) {
    fail("pause", `${provider.name} ${provider.schemaVersion} cannot pause (capabilities.pause is not true)`);
  }
  const backups = spec.backups;
  if (backups && !unknown(backups) && backups.enabled === true) {
    if (!provider.capabilities?.backups || !provider.backups) {
      fail(
        "backups",
        `${provider.name} ${provider.schemaVersion} does not support backups (capabilities.backups is not true)`,
      );
    } else {
      if (!unknown(backups.config)) {
        backups.config = checkValues(
          "backups.config",
          provider.backups.configSchema,
          backups.config,
          fail,
          unknown,
          false,
        );
      }
      if (!unknown(backups.secrets)) {
        backups.secrets = checkValues(
          "backups.secrets",
          provider.backups.secretsSchema,
          backups.secrets,
          fail,
          unknown,
          true,
        );
      }
    }
  }
  const recover = spec.recoverFrom;
  if (recover && !unknown(recover)) {
    if (!provider.capabilities?.backups || !provider.backups) {
      fail("recoverFrom", `${provider.name} ${provider.schemaVersion} does not support backups`);
    } else if ("msId" in recover && !provider.capabilities.pointInTimeRecovery) {
      fail(
        "recoverFrom.msId",
        `${provider.name} ${provider.schemaVersion} does not support point-in-time recovery`,
      );
    }
  }
  return { spec, provider, failures };
}

function checkPlan(
  spec: ServiceSpec,
  provider: schemas.Provider,
  fail: (path: string, reason: string) => void,
  unknown: (v: unknown) => boolean,
): void {
  if (unknown(spec.plan.id)) return;
  const plan = provider.plans.find((p) => p.id === spec.plan.id);
  if (!plan) {
    const ids = provider.plans.map((p) => `${p.id} (${p.name})`).join(", ");
    fail(
      "plan.id",
      `plan ${spec.plan.id} does not exist for ${provider.name} ${provider.schemaVersion} (plans: ${ids})`,
    );
    return;
  }
  const given = unknown(spec.plan.parameters) ? undefined : (spec.plan.parameters ?? {});
  if (given === undefined) return;
  for (const name of Object.keys(given)) {
    if (!(name in plan.parameters)) {
      const known = Object.keys(plan.parameters).join(", ") || "none";
      fail(`plan.parameters.${name}`, `is not a parameter of plan ${plan.id} (parameters: ${known})`);
    }
  }
  const parameters: Record<string, number> = {};
  for (const [name, parameter] of Object.entries(plan.parameters)) {
    const schema = parameter.schema;
    const value = given[name];
    if (unknown(value)) {
      parameters[name] = value as number;
      continue;
    }
    if (schema.readOnly === true) {
      const fixed = schema.const ?? schema.default;
      if (value !== undefined && fixed !== undefined && value !== fixed) {
        fail(`plan.parameters.${name}`, `is read-only in plan ${plan.id} and is ${JSON.stringify(fixed)}`);
      }
      if (typeof fixed === "number") parameters[name] = fixed;
      continue;
    }
    const chosen = value ?? schema.default ?? schema.minimum;
    if (chosen === undefined) continue;
    const holder = { [name]: chosen };
    const fn = parameterValidator(name, schema);
    if (!fn(holder)) {
      for (const e of fn.errors ?? []) fail(`plan.parameters.${name}`, describeError(e, false));
    }
    parameters[name] = holder[name] as number;
  }
  spec.plan = { id: plan.id, parameters };
}

/** Validates a copy (filling defaults) and returns it; unknown keys are left out of the check. */
function checkValues(
  field: string,
  schema: JsonSchema | undefined,
  values: schemas.Values | undefined,
  fail: (path: string, reason: string) => void,
  unknown: (v: unknown) => boolean,
  secret: boolean,
): schemas.Values {
  const given = values ?? {};
  if (!schema) return given;
  const pending = Object.keys(given).filter((k) => unknown(given[k]));
  const copy: schemas.Values = structuredClone(given);
  for (const k of pending) delete copy[k];
  const fn = validator(schema);
  if (!fn(copy)) {
    for (const e of fn.errors ?? []) {
      const missing = e.keyword === "required" ? String(e.params.missingProperty) : undefined;
      if (missing !== undefined && pending.includes(missing)) continue;
      const at = e.instancePath.replace(/^\//, "").replace(/\//g, ".");
      if (e.keyword === "required") fail(`${field}.${missing}`, "is required");
      else if (e.keyword === "additionalProperties") {
        const extra = String(e.params.additionalProperty);
        const allowed = Object.keys(propertiesOf(schema)).join(", ") || "none";
        fail(`${field}.${extra}`, `is not a known field (allowed: ${allowed})`);
      } else fail(at === "" ? field : `${field}.${at}`, describeError(e, secret));
    }
  }
  for (const k of pending) copy[k] = given[k];
  return copy;
}

function describeError(e: ErrorObject, secret: boolean): string {
  if (e.keyword === "enum" && !secret) return `must be one of ${JSON.stringify(e.params.allowedValues)}`;
  return e.message ?? "is invalid";
}
