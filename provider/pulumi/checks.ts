/**
 * check: the declared inputs validated against the team's live catalog, with
 * the catalog's defaults filled in and every secret field sealed.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as schemas from "../../sdk/schemas";
import { type CheckFailure, checkSpec, findProvider } from "../core/catalog-checks";
import { parseDuration } from "../core/lifecycle";
import { applySpec, specOf } from "./mapping";
import { catalogFor, lifecycleFor } from "./session";
import { isUnknown, type ServiceInputs } from "./shapes";
import { sealInputs } from "./wire";

export async function check(
  _olds: ServiceInputs | undefined,
  news: ServiceInputs,
): Promise<pulumi.dynamic.CheckResult<ServiceInputs>> {
  const failures: CheckFailure[] = [];
  const inputs: ServiceInputs = structuredClone(news);
  shapeFailures(inputs, failures);
  const landscape = inputs.landscape;

  const connectionKnown = !isUnknown(inputs.__connection?.apiUrl) && !isUnknown(inputs.__connection?.token);
  if (failures.length === 0 && connectionKnown && !isUnknown(inputs.teamId)) {
    const lifecycle = lifecycleFor(inputs.__connection);
    let catalog: schemas.Provider[];
    try {
      catalog = await catalogFor(lifecycle, inputs.teamId);
    } catch (error) {
      throw new Error(
        `cannot read the provider catalog of team ${inputs.teamId} at ${lifecycle.client.baseUrl}: ${(error as Error).message}`,
      );
    }
    const entry = isUnknown(inputs.provider)
      ? undefined
      : findProvider(catalog, inputs.provider?.name, inputs.provider?.version);
    applyLandscapeDefaults(inputs, entry);
    const result = checkSpec(specOf(inputs), catalog, { isUnknown });
    failures.push(...result.failures);
    if (result.failures.length === 0) applySpec(inputs, result.spec);
  }
  inputs.pause ??= false;
  if (landscape) delete inputs.landscape?.backups;
  return {
    inputs: sealInputs(inputs),
    // No property key: the engine would print the property's value beside it (and a path
    // such as `config.version` is not a key it knows). The reason names the field.
    failures: failures.map((f) => ({ property: "", reason: `${f.path}: ${f.reason}` })),
  };
}

/**
 * A Landscape's shared settings, applied where the member's provider has the
 * capability and the member does not decide for itself: the landscape-wide
 * pause pauses only members that can pause, its backups go only to members
 * whose provider supports backups.
 */
export function applyLandscapeDefaults(inputs: ServiceInputs, entry: schemas.Provider | undefined): void {
  const landscape = inputs.landscape;
  if (!landscape || isUnknown(landscape)) return;
  if (inputs.pause === undefined && landscape.pause !== undefined && !isUnknown(landscape.pause)) {
    inputs.pause = landscape.pause === true && entry?.capabilities?.pause === true;
  }
  if (inputs.backups === undefined && landscape.backups && entry?.capabilities?.backups) {
    inputs.backups = structuredClone(landscape.backups);
  }
}

/** Shape errors the catalog cannot explain: missing or mistyped fields. */
function shapeFailures(inputs: ServiceInputs, failures: CheckFailure[]): void {
  const fail = (path: string, reason: string) => failures.push({ path, reason });
  const known = (v: unknown) => v !== undefined && !isUnknown(v);
  if (inputs.__connection?.apiUrl === undefined) {
    fail("apiUrl", "no Codesphere API URL: set stack config codesphere:apiUrl or CS_API");
  }
  if (inputs.teamId === undefined) {
    fail("teamId", "is required: set it on the resource, in stack config codesphere:teamId, or CS_TEAM_ID");
  } else if (known(inputs.teamId) && !(Number.isInteger(inputs.teamId) && inputs.teamId >= 0)) {
    fail("teamId", `must be a non-negative integer (got ${JSON.stringify(inputs.teamId)})`);
  }
  if (inputs.name === undefined) fail("name", "is required");
  else if (known(inputs.name) && !/^(?!\s)[a-zA-Z0-9\-_\s]{0,126}[a-zA-Z0-9\-_]$/.test(inputs.name)) {
    fail("name", "must be 1 to 127 letters, digits, '-', '_' or inner spaces");
  }
  if (!inputs.provider) fail("provider", "is required ({name, version})");
  else if (!isUnknown(inputs.provider)) {
    if (typeof inputs.provider.name !== "string") fail("provider.name", "is required (a string)");
    if (inputs.provider.version === undefined) fail("provider.version", "is required (e.g. v1)");
    else if (typeof inputs.provider.version === "number")
      inputs.provider.version = String(inputs.provider.version);
  }
  if (!inputs.plan) fail("plan", "is required ({id, parameters})");
  else if (!isUnknown(inputs.plan) && !known(inputs.plan.id) && !isUnknown(inputs.plan.id)) {
    fail("plan.id", "is required");
  }
  const strict = (path: string, value: unknown, allowed: string[]) => {
    if (!value || typeof value !== "object" || isUnknown(value)) return;
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key))
        fail(`${path}.${key}`, `is not a known field (allowed: ${allowed.join(", ")})`);
    }
  };
  strict("provider", inputs.provider, ["name", "version"]);
  strict("plan", inputs.plan, ["id", "parameters"]);
  strict("backups", inputs.backups, ["enabled", "intervalH", "deleteRetentionDays", "config", "secrets"]);
  strict("timeouts", inputs.timeouts, ["create", "update", "delete"]);
  for (const [key, value] of Object.entries(
    inputs.timeouts && !isUnknown(inputs.timeouts) ? inputs.timeouts : {},
  )) {
    if (value === undefined || isUnknown(value)) continue;
    try {
      parseDuration(String(value));
    } catch (error) {
      fail(`timeouts.${key}`, (error as Error).message);
    }
  }
  const id = inputs.__import;
  if (id !== undefined && !isUnknown(id)) {
    if (typeof id !== "string" || id === "") fail("import", "must be the id of an existing managed service");
    else if (inputs.adopt === true)
      fail("import", "and adopt exclude each other: import takes a service by id unchanged");
  }
  const b = inputs.backups;
  if (b && !isUnknown(b) && b.enabled !== false) {
    if (b.intervalH === undefined) fail("backups.intervalH", "is required when backups are enabled");
    if (b.deleteRetentionDays === undefined) {
      fail("backups.deleteRetentionDays", "is required when backups are enabled");
    }
  }
}
