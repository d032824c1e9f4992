/**
 * What changing a managed service's inputs does: `planChanges` applies the
 * field table (./fields.ts) to old and new inputs and answers in API paths
 * (`config.version`, `plan.parameters.storage`, `secrets.userPassword`),
 * refining the fixed rules per key with the catalog's `x-update-constraint`.
 * Apart from the table because the table says what each field is, and this
 * file how two desired states differ.
 *
 * Secret maps are compared as given, so callers pass fingerprints on both
 * sides (see ./fingerprints), never a secret in one place and its hash in the
 * other.
 */
import {
  constraintBreach,
  constraintOf,
  propertiesOf,
  type UpdateConstraint,
} from "../../sdk/catalog-keywords";
import type * as schemas from "../../sdk/schemas";
import { ruleFor } from "./fields";

export type BackupsSpec =
  | {
      enabled: true;
      intervalH: number;
      deleteRetentionDays: number;
      config: schemas.Values;
      /** Plain values when sending; fingerprints when comparing. */
      secrets: schemas.Values;
    }
  | { enabled: false };

/**
 * A service's desired state in API names (what IaC inputs map to). Values may
 * be unknown during a preview (see {@link DiffOptions.isUnknown}).
 */
export interface ServiceSpec {
  teamId: number;
  name: string;
  provider: { name: string; version: string };
  plan: schemas.PlanSelection;
  config: schemas.Values;
  /** Plain values when sending; fingerprints when comparing. */
  secrets: schemas.Values;
  /** Absent: backups are left as they are (off for a new service). */
  backups?: BackupsSpec;
  pause: boolean;
  recoverFrom?: schemas.RecoverFrom;
}

/** Settings of the IaC resource itself (rule `state`): compared, never sent. */
export interface LocalSettings {
  adopt?: unknown;
  timeouts?: unknown;
}

export interface PlannedChanges {
  /** API paths whose change needs a new service. Empty: the service stays. */
  replaces: string[];
  /** API paths that change in place (or only in state, for local settings). */
  updates: string[];
}

export interface DiffOptions {
  /** Tells whether a value is not known yet (a preview). Unknown values count as changed. */
  isUnknown?: (value: unknown) => boolean;
}

type JsonSchema = Record<string, unknown>;

/**
 * Which fields change and whether that replaces the service. `old` is the
 * recorded state, `next` the wanted one (both with catalog defaults applied,
 * see ./normalize); `provider` is the catalog entry of the service's provider
 * (without it, only the fixed rules apply). Local settings (`adopt`,
 * `timeouts`) are compared when present on the objects.
 */
export function planChanges(
  old: Partial<ServiceSpec> & LocalSettings,
  next: Partial<ServiceSpec> & LocalSettings,
  provider: schemas.Provider | undefined,
  options: DiffOptions = {},
): PlannedChanges {
  const unknown = options.isUnknown ?? (() => false);
  const replaces: string[] = [];
  const updates: string[] = [];
  const note = (path: string, replace: boolean) => (replace ? replaces : updates).push(path);
  const differs = (a: unknown, b: unknown) => unknown(b) || !sameValue(a, b);

  for (const path of ["teamId", "provider.name", "provider.version", "name", "pause"]) {
    const a = valueAt(old, path);
    const b = valueAt(next, path);
    if (differs(a, b)) note(path, ruleFor(path)!.onChange === "replace");
  }

  // plan: the id updates in place; each parameter may carry a catalog constraint.
  const oldPlan = old.plan;
  const nextPlan = next.plan;
  if (unknown(nextPlan)) note("plan", false);
  else if (nextPlan !== undefined) {
    if (differs(oldPlan?.id, nextPlan.id)) note("plan.id", false);
    const plan = provider?.plans.find((p) => p.id === nextPlan.id);
    for (const key of keysOf(oldPlan?.parameters, nextPlan.parameters)) {
      const a = oldPlan?.parameters?.[key];
      const b = nextPlan.parameters?.[key];
      if (!differs(a, b)) continue;
      const schema = plan?.parameters[key]?.schema;
      if (schema?.readOnly === true) continue; // follows the plan id; never chosen
      note(`plan.parameters.${key}`, replacesUnderConstraint(constraintOf(schema), a, b, unknown));
    }
  }

  compareValues("config", old.config, next.config, provider?.configSchema, note, unknown);
  compareValues("secrets", old.secrets, next.secrets, provider?.secretsSchema, note, unknown);

  // backups: all in place; absent on the new side leaves them as they are.
  if (unknown(next.backups)) note("backups", false);
  else if (next.backups !== undefined) {
    const a = old.backups ?? { enabled: false as const };
    const b = next.backups;
    if (differs(a.enabled, b.enabled)) note("backups.enabled", false);
    if (a.enabled && b.enabled) {
      for (const key of ["intervalH", "deleteRetentionDays"] as const) {
        if (differs(a[key], b[key])) note(`backups.${key}`, false);
      }
      compareValues("backups.config", a.config, b.config, provider?.backups?.configSchema, note, unknown);
      compareValues("backups.secrets", a.secrets, b.secrets, undefined, note, unknown);
    }
  }

  // recoverFrom: only at create; setting or changing it means a new service, removing it nothing.
  if (next.recoverFrom !== undefined && differs(old.recoverFrom, next.recoverFrom)) {
    note("recoverFrom", true);
  }

  for (const path of ["adopt", "timeouts"] as const) {
    if (path in next && differs(old[path], next[path])) note(path, false);
  }

  return { replaces, updates };
}

function compareValues(
  field: string,
  before: schemas.Values | undefined,
  after: schemas.Values | undefined,
  schema: JsonSchema | undefined,
  note: (path: string, replace: boolean) => void,
  unknown: (v: unknown) => boolean,
): void {
  if (after === undefined) return;
  if (unknown(after)) {
    note(field, false);
    return;
  }
  const properties = propertiesOf(schema);
  for (const key of keysOf(before, after)) {
    const a = before?.[key];
    const b = after[key];
    if (!unknown(b) && sameValue(a, b)) continue;
    // A key that was never set may be set now without replacing (the API's own rule).
    const constraint = before !== undefined && key in before ? constraintOf(properties[key]) : undefined;
    note(`${field}.${key}`, replacesUnderConstraint(constraint, a, b, unknown));
  }
}

/** True when changing `before` to `after` cannot happen in place under `constraint`. */
export function replacesUnderConstraint(
  constraint: UpdateConstraint | undefined,
  before: unknown,
  after: unknown,
  unknown: (v: unknown) => boolean = () => false,
): boolean {
  if (constraint === "immutable") return true;
  // Whether an unknown value grows or stays within a major is decided when it is known.
  if (unknown(after) || before === undefined || after === undefined) return false;
  return constraintBreach(constraint, before, after) !== undefined;
}

export { constraintOf, propertiesOf };

function keysOf(a: object | undefined, b: object | undefined): string[] {
  return [...new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])].sort();
}

function valueAt(o: unknown, path: string): unknown {
  let v = o;
  for (const key of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** Deep equality of JSON values, independent of key order. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameValue(v, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
