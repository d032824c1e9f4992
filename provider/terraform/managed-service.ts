/**
 * Resource `codesphere_managed_service`: one managed service of the
 * Codesphere public API.
 *
 * Which change replaces the service and which updates it in place comes from
 * the shared field table (provider/core/fields.ts), refined by the catalog's
 * `x-update-constraint`; inputs are checked against the live catalog
 * (provider/core/catalog.ts) at plan time. This file maps Terraform's values
 * onto those rules and back:
 *
 * - Secrets (`secrets`, `backups.secrets`, `recover_from.secrets`) are
 *   sensitive, and write-only where Terraform supports it (1.11+): then state
 *   and plan hold null for them, and a keyed fingerprint of each secret
 *   (`secret_fingerprints`, see provider/core/fingerprints.ts) tells a change
 *   without storing the value. Raising `secrets_version` sends the secrets
 *   again regardless. On older Terraform they are stored in state, marked
 *   sensitive.
 * - Read (refresh) records what the API reports, but only for the keys the
 *   configuration set, so catalog defaults filled in by the API never show as
 *   drift.
 */
import { randomUUID } from "node:crypto";
import type { CodesphereClient } from "../../sdk/client";
import type * as schemas from "../../sdk/schemas";
import type * as coreCatalog from "../core/catalog";
import { DEFAULT_DEADLINES, parseDuration, settledState } from "../core/deadlines";
import { FIELD_RULES, planChanges, type ServiceSpec } from "../core/fields";
import { deriveFingerprintKey, fingerprintValues } from "../core/fingerprints";
import { type Diagnostic, DiagnosticsError, errorDiagnostic, fail, type PathStep } from "./diagnostics";
import { lifecycleFor, loadLifecycle } from "./lifecycle";
import type {
  ApplyRequest,
  ApplyResult,
  PlanRequest,
  PlanResult,
  ProviderContext,
  ReadResult,
  ResourceHandler,
  TfObject,
} from "./provider";
import type { AttributeSpec, SchemaSpec } from "./schema";
import { isWhollyKnown, type TfValue, UNKNOWN, valuesEqual } from "./values";

export const TYPE_NAME = "codesphere_managed_service";

/** The description of a field from the shared table, by its Terraform attribute path. */
function describe(terraformPath: string, extra = ""): string {
  const rule = FIELD_RULES.find((r) => r.terraform === terraformPath);
  const change =
    rule?.onChange === "replace"
      ? " Changing it replaces the service."
      : rule?.onChange === "update"
        ? ""
        : "";
  return `${rule?.description ?? ""}${change}${extra}`.trim();
}

const secretNote =
  " Sensitive; write-only on Terraform 1.11 and later (never stored in plan or state), stored in state marked sensitive on older versions.";

const SECRETS = (path: string, extra = ""): AttributeSpec => ({
  name: "secrets",
  type: "dynamic",
  optional: true,
  sensitive: true,
  writeOnly: true,
  description: describe(path, secretNote + extra),
});

export const MANAGED_SERVICE_SCHEMA: SchemaSpec = {
  version: 0,
  block: {
    description:
      "A Codesphere managed service (a database, cache, object store or any provider of the catalog). " +
      "Import with its id: `terraform import codesphere_managed_service.NAME SERVICE_ID` (or `TEAM_ID/SERVICE_ID`).",
    attributes: [
      { name: "id", type: "string", computed: true, description: describe("id") },
      {
        name: "team_id",
        type: "number",
        optional: true,
        computed: true,
        description:
          "Team that owns the service. Default: the provider's `team_id` (or `CS_TEAM_ID`). Changing it replaces the service.",
      },
      { name: "name", type: "string", required: true, description: describe("name") },
      { name: "provider_name", type: "string", required: true, description: describe("provider_name") },
      {
        name: "provider_version",
        type: "string",
        optional: true,
        computed: true,
        description: `${describe("provider_version")} Default: the newest in the catalog.`,
      },
      { name: "plan_id", type: "number", required: true, description: describe("plan.id") },
      {
        name: "plan_parameters",
        type: ["map", "number"],
        optional: true,
        computed: true,
        description: `${describe("plan.parameters")} A decrease of an increase-only parameter replaces the service.`,
      },
      {
        name: "config",
        type: "dynamic",
        optional: true,
        computed: true,
        description: `${describe("config")} Keys the catalog marks immutable replace the service when changed.`,
      },
      SECRETS("secrets"),
      {
        name: "secrets_version",
        type: "number",
        optional: true,
        description:
          "Raise it to send `secrets` (and `backups.secrets`) again, e.g. after rotating them outside Terraform. " +
          "Changes of the secrets themselves are found from their fingerprints without it.",
      },
      {
        name: "backups",
        optional: true,
        description: describe("backups"),
        nested: [
          { name: "enabled", type: "bool", required: true, description: describe("backups.enabled") },
          { name: "interval_h", type: "number", optional: true, description: describe("backups.interval_h") },
          {
            name: "delete_retention_days",
            type: "number",
            optional: true,
            description: describe("backups.delete_retention_days"),
          },
          { name: "config", type: "dynamic", optional: true, description: describe("backups.config") },
          SECRETS("backups.secrets"),
        ],
      },
      {
        name: "pause",
        type: "bool",
        optional: true,
        computed: true,
        description: `${describe("pause")} Default false.`,
      },
      {
        name: "recover_from",
        optional: true,
        description: describe("recover_from"),
        nested: [
          { name: "backup_id", type: "string", optional: true, description: "Backup to restore (its id)." },
          {
            name: "service_id",
            type: "string",
            optional: true,
            description: "Service whose data to restore at `time` (point-in-time recovery).",
          },
          { name: "time", type: "string", optional: true, description: "Point in time (RFC 3339)." },
          { name: "config", type: "dynamic", optional: true, description: "Backup store settings." },
          SECRETS("recover_from.secrets"),
        ],
      },
      { name: "status", type: "string", computed: true, description: describe("status") },
      {
        name: "details",
        type: "dynamic",
        computed: true,
        sensitive: true,
        description: `${describe("details")} Sensitive as a whole, since it may carry a connection string.`,
      },
      {
        name: "backup_entries",
        type: [
          "list",
          [
            "object",
            { id: "string", scheduled_at: "string", initiated_at: "string", confirmed_at: "string" },
          ],
        ],
        computed: true,
        description: describe("backup_entries"),
      },
      { name: "created_at", type: "string", computed: true, description: describe("created_at") },
      {
        name: "secret_fingerprints",
        type: ["map", "string"],
        computed: true,
        sensitive: true,
        description: describe("secret_fingerprints", " Keyed with a key derived from the API token."),
      },
    ],
    blocks: [
      {
        name: "timeouts",
        block: {
          description: "How long to wait for each operation, as `30s`, `20m`, `1h`.",
          attributes: [
            { name: "create", type: "string", optional: true, description: "Default 20m." },
            { name: "update", type: "string", optional: true, description: "Default 20m." },
            { name: "delete", type: "string", optional: true, description: "Default 10m." },
          ],
        },
      },
    ],
  },
};

// ---------------------------------------------------------------- value helpers

/** Stands for an unknown value inside specs handed to provider/core (they are cloned, so no symbol). */
const UNKNOWN_TEXT = "74D93920-ED26-11E3-AC10-0800200C9A66";
const coreUnknown = (v: unknown) => v === UNKNOWN_TEXT;

function forCore(v: TfValue | undefined): unknown {
  if (v === UNKNOWN) return UNKNOWN_TEXT;
  if (v === null || v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(forCore);
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) {
      const c = forCore(e);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  return v;
}

type Obj = Record<string, TfValue>;
const obj = (v: TfValue | undefined): Obj | null =>
  v !== null && v !== undefined && v !== UNKNOWN && typeof v === "object" && !Array.isArray(v)
    ? (v as Obj)
    : null;
const str = (v: TfValue | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: TfValue | undefined): number | undefined => (typeof v === "number" ? v : undefined);

/** The JSON values of a map/object value, for the API. */
function jsonValues(v: TfValue | undefined): schemas.Values {
  // Unknown here is a computed default not chosen yet (config or plan_parameters left out): send none.
  if (v === UNKNOWN) return {};
  return (forCore(v ?? null) as schemas.Values | undefined) ?? {};
}

/** `15` and `v15` name the same version. */
const sameVersion = (a: unknown, b: unknown) =>
  typeof a === "string" && typeof b === "string" && a.replace(/^v/, "") === b.replace(/^v/, "");

/** A copy with write-only secrets set to null (what plan and state hold on Terraform 1.11+). */
function withoutSecrets(v: TfObject): TfObject {
  const out: TfObject = { ...v, secrets: null };
  for (const key of ["backups", "recover_from"]) {
    const nested = obj(out[key]);
    if (nested) out[key] = { ...nested, secrets: null };
  }
  return out;
}

/** Milliseconds of a `timeouts` entry, or undefined when it is not a duration. */
function durationMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

const DEADLINE_OF = { create: "createMs", update: "updateMs", delete: "deleteMs" } as const;

function timeoutOf(state: TfObject | null, op: "create" | "update" | "delete"): number {
  const text = str(obj(state?.timeouts ?? null)?.[op]);
  return (text && durationMs(text)) || DEFAULT_DEADLINES[DEADLINE_OF[op]];
}

// ---------------------------------------------------------------- to the API's terms

/** A Terraform value as the shared spec (API names); unknown values become core's unknown marker. */
export function specOf(
  v: TfObject,
  teamId: number | undefined | typeof UNKNOWN,
  version?: string,
): ServiceSpec {
  const backups = obj(v.backups);
  const recover = obj(v.recover_from);
  const spec: Record<string, unknown> = {
    teamId: forCore(v.team_id) ?? (teamId === UNKNOWN ? UNKNOWN_TEXT : teamId),
    name: forCore(v.name),
    provider: { name: forCore(v.provider_name), version: forCore(v.provider_version) ?? version },
    plan: { id: forCore(v.plan_id), parameters: forCore(v.plan_parameters) ?? {} },
    config: forCore(v.config) ?? {},
    secrets: forCore(v.secrets) ?? {},
    pause: v.pause === UNKNOWN ? UNKNOWN_TEXT : v.pause === true,
  };
  if (v.backups === UNKNOWN) spec.backups = UNKNOWN_TEXT;
  else if (backups) {
    spec.backups =
      backups.enabled === false
        ? { enabled: false }
        : {
            enabled: forCore(backups.enabled),
            intervalH: forCore(backups.interval_h) ?? 24,
            deleteRetentionDays: forCore(backups.delete_retention_days) ?? 7,
            config: forCore(backups.config) ?? {},
            secrets: forCore(backups.secrets) ?? {},
          };
  }
  if (v.recover_from === UNKNOWN) spec.recoverFrom = UNKNOWN_TEXT;
  else if (recover) {
    const base = { config: forCore(recover.config) ?? {}, secrets: forCore(recover.secrets) ?? {} };
    spec.recoverFrom =
      recover.backup_id !== null && recover.backup_id !== undefined
        ? { id: forCore(recover.backup_id), ...base }
        : { msId: forCore(recover.service_id), time: forCore(recover.time), ...base };
  }
  return spec as unknown as ServiceSpec;
}

/** API path (from provider/core) to the Terraform attribute path that shows it. */
function terraformPath(apiPath: string): PathStep[] {
  const [head, second, third] = apiPath.split(".");
  switch (head) {
    case "teamId":
      return ["team_id"];
    case "provider":
      return [second === "name" ? "provider_name" : "provider_version"];
    case "plan":
      if (second === "parameters") return third ? ["plan_parameters", ["key", third]] : ["plan_parameters"];
      return ["plan_id"];
    case "recoverFrom":
      return ["recover_from"];
    case "backups":
      return ["backups"];
    case "secrets":
      return ["secrets"];
    case "config":
      return ["config"];
    default:
      return [head ?? apiPath];
  }
}

/** Fingerprints of every secret in a value (config side: plain secrets). */
function fingerprintsOf(v: TfObject, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (field: string, values: TfValue | undefined) => {
    const plain = forCore(values ?? null) as schemas.Values | undefined;
    if (!plain) return;
    for (const [k, fp] of Object.entries(fingerprintValues(key, field, plain))) out[`${field}.${k}`] = fp;
  };
  add("secrets", v.secrets);
  add("backups.secrets", obj(v.backups)?.secrets);
  add("recoverFrom.secrets", obj(v.recover_from)?.secrets);
  return out;
}

/** Fingerprints as the spec's secret maps, so planChanges compares fingerprints on both sides. */
function specWithFingerprints(spec: ServiceSpec, fingerprints: Record<string, string>): ServiceSpec {
  const pick = (field: string) => {
    const out: Record<string, string> = {};
    for (const [k, fp] of Object.entries(fingerprints))
      if (k.startsWith(`${field}.`)) out[k.slice(field.length + 1)] = fp;
    return out;
  };
  const next: ServiceSpec = { ...spec, secrets: pick("secrets") };
  if (next.backups && typeof next.backups === "object" && next.backups.enabled === true) {
    next.backups = { ...next.backups, secrets: pick("backups.secrets") };
  }
  if (next.recoverFrom && typeof next.recoverFrom === "object") {
    next.recoverFrom = { ...next.recoverFrom, secrets: pick("recoverFrom.secrets") } as schemas.RecoverFrom;
  }
  return next;
}

// ---------------------------------------------------------------- the handler

/** The catalog checks (ajv) load on first use: processes that only serve the schema never need them. */
let catalogModule: Promise<typeof coreCatalog> | undefined;
const loadCatalogChecks = () => {
  catalogModule ??= import("../core/catalog.js");
  return catalogModule;
};

interface CatalogCache {
  team: number | undefined;
  entries: schemas.Provider[];
}

export function managedServiceResource(): ResourceHandler {
  let catalog: Promise<CatalogCache> | undefined;
  const catalogFor = async (client: CodesphereClient, team: number | undefined) => {
    if (!catalog || (await catalog).team !== team) {
      catalog = client.providers
        .list(team === undefined ? {} : { teamId: team })
        .then((entries) => ({ team, entries }));
    }
    return (await catalog).entries;
  };

  const fingerprintKey = (ctx: ProviderContext, id: string) =>
    deriveFingerprintKey(ctx.fingerprintMaterial(), `terraform ${TYPE_NAME} ${id}`);

  const teamOf = (v: TfObject, ctx: ProviderContext): number | undefined | typeof UNKNOWN => {
    if (v.team_id === UNKNOWN) return UNKNOWN;
    return num(v.team_id) ?? ctx.teamId;
  };

  return {
    typeName: TYPE_NAME,
    schema: MANAGED_SERVICE_SCHEMA,

    validate(config) {
      const diagnostics: Diagnostic[] = [];
      const name = config.name;
      if (typeof name === "string" && !/^(?!\s)[a-zA-Z0-9\-_\s]{0,126}[a-zA-Z0-9\-_]$/.test(name)) {
        diagnostics.push(
          errorDiagnostic("Invalid name", "name must be 1 to 127 letters, digits, '-', '_' or inner spaces", [
            "name",
          ]),
        );
      }
      const providerName = config.provider_name;
      if (typeof providerName === "string" && !/^[a-z0-9-_]+$/.test(providerName)) {
        diagnostics.push(
          errorDiagnostic("Invalid provider_name", "must be lowercase letters, digits, '-' or '_'", [
            "provider_name",
          ]),
        );
      }
      for (const key of ["config", "secrets"] as const) {
        const v = config[key];
        if (v !== null && v !== UNKNOWN && (typeof v !== "object" || Array.isArray(v))) {
          diagnostics.push(errorDiagnostic(`Invalid ${key}`, `${key} must be an object of settings`, [key]));
        }
      }
      const timeouts = obj(config.timeouts);
      for (const op of ["create", "update", "delete"] as const) {
        const t = timeouts?.[op];
        if (typeof t === "string" && durationMs(t) === undefined) {
          diagnostics.push(
            errorDiagnostic(`Invalid timeouts.${op}`, `expected a duration like 30s, 20m or 1h, got "${t}"`, [
              "timeouts",
              op,
            ]),
          );
        }
      }
      const recover = obj(config.recover_from);
      if (recover && isWhollyKnown(recover.backup_id) && isWhollyKnown(recover.service_id)) {
        const byBackup = recover.backup_id !== null;
        const byTime = recover.service_id !== null || recover.time !== null;
        if (byBackup === byTime) {
          diagnostics.push(
            errorDiagnostic(
              "Invalid recover_from",
              "set either backup_id, or service_id and time (point-in-time recovery)",
              ["recover_from"],
            ),
          );
        }
      }
      const backups = obj(config.backups);
      if (backups?.enabled === true) {
        for (const key of ["config", "secrets"] as const) {
          if (backups[key] === null) {
            diagnostics.push(
              errorDiagnostic(
                `Missing backups.${key}`,
                `backups.${key} is required when backups are enabled`,
                ["backups", key],
              ),
            );
          }
        }
      }
      return diagnostics;
    },

    async plan(req: PlanRequest, ctx: ProviderContext): Promise<PlanResult> {
      const { prior, proposed, config } = req;
      if (proposed === null || config === null) return { planned: null };
      const diagnostics: Diagnostic[] = [];
      const writeOnly = ctx.writeOnlyAllowed;
      const planned: TfObject = { ...proposed };

      // Defaults of optional+computed inputs.
      if (config.team_id === null) {
        const team = prior?.team_id ?? (ctx.teamId === undefined ? null : ctx.teamId);
        if (team === null) {
          fail(
            "No team for the managed service",
            "Set team_id on the resource, team_id in the provider block, or CS_TEAM_ID in the environment.",
            ["team_id"],
          );
        }
        planned.team_id = team;
      }
      if (config.pause === null) planned.pause = false;
      if (config.provider_version === null) planned.provider_version = prior?.provider_version ?? UNKNOWN;
      if (config.plan_parameters === null) planned.plan_parameters = prior?.plan_parameters ?? UNKNOWN;
      if (config.config === null) planned.config = prior?.config ?? UNKNOWN;
      if (writeOnly) Object.assign(planned, withoutSecrets(planned));

      // Check against the live catalog, when the provider can reach it.
      const team = teamOf(planned, ctx);
      let entries: schemas.Provider[] | undefined;
      if (ctx.configKnown && team !== UNKNOWN) {
        entries = await catalogFor(await ctx.client(), team);
      }
      const newest = (name: TfValue | undefined) =>
        entries
          ?.filter((p) => p.name === name)
          .map((p) => p.schemaVersion)
          .sort((a, b) => Number(b.replace(/\D/g, "")) - Number(a.replace(/\D/g, "")))[0];
      const nextSpec = specOf(
        { ...proposed, ...pick(planned, ["team_id", "pause"]) },
        team,
        newest(proposed.provider_name),
      );
      let provider: schemas.Provider | undefined;
      const { checkSpec } = await loadCatalogChecks();
      if (entries) {
        const checked = checkSpec(nextSpec, entries, { isUnknown: coreUnknown });
        provider = checked.provider;
        for (const f of checked.failures) {
          diagnostics.push(
            errorDiagnostic(`Invalid ${f.path}`, `${f.path}: ${f.reason}`, terraformPath(f.path)),
          );
        }
        if (diagnostics.length > 0) return { planned, diagnostics };
      }

      if (prior === null) {
        // Create: outputs are known after apply; the state it settles in is known now.
        Object.assign(planned, {
          id: UNKNOWN,
          status: planned.pause === UNKNOWN ? UNKNOWN : settledState(planned.pause === true),
          details: UNKNOWN,
          backup_entries: UNKNOWN,
          created_at: UNKNOWN,
          secret_fingerprints: UNKNOWN,
        });
        if (planned.provider_version === null) planned.provider_version = UNKNOWN;
        return { planned, diagnostics };
      }

      // Update or replace: compare with the shared rules, both sides with the catalog's defaults.
      const id = str(prior.id) ?? "";
      const key = fingerprintKey(ctx, id);
      const priorFingerprints = (obj(prior.secret_fingerprints) as Record<string, string> | null) ?? {};
      const nextFingerprints = isWhollyKnown(secretValues(config)) ? fingerprintsOf(config, key) : undefined;
      const oldSpec = specWithFingerprints(specOf(prior, team), priorFingerprints);
      const newSpec = nextFingerprints
        ? specWithFingerprints(nextSpec, nextFingerprints)
        : { ...nextSpec, secrets: UNKNOWN_TEXT as unknown as schemas.Values };
      const normalize = (s: ServiceSpec) =>
        (entries ? checkSpec(s, entries, { isUnknown: coreUnknown }).spec : s) as ServiceSpec &
          Record<string, unknown>;
      const changes = planChanges(normalize(oldSpec), normalize(newSpec), provider, {
        isUnknown: coreUnknown,
      });
      // recoverFrom matters only at create: a later change of it means a new service (the table's rule),
      // but a team or version read back differently (`15` vs `v15`) is not a change.
      const replaces = changes.replaces.filter(
        (p) =>
          !(p === "provider.version" && sameVersion(prior.provider_version, planned.provider_version)) &&
          !(p === "teamId" && prior.team_id === null),
      );
      const versionBumped = !valuesEqual(prior.secrets_version, planned.secrets_version);

      planned.secret_fingerprints = nextFingerprints ?? UNKNOWN;
      planned.id = prior.id ?? null;
      planned.created_at = prior.created_at ?? null;
      const inPlace = changes.updates.filter((p) => p !== "timeouts");
      if (replaces.length === 0 && inPlace.length === 0 && !versionBumped) {
        // Nothing to send: keep what was read.
        planned.status = prior.status ?? null;
        planned.details = prior.details ?? null;
        planned.backup_entries = prior.backup_entries ?? null;
        planned.secret_fingerprints = prior.secret_fingerprints ?? null;
        return { planned, diagnostics };
      }
      if (replaces.length > 0) {
        return {
          planned: {
            ...planned,
            id: UNKNOWN,
            status: planned.pause === UNKNOWN ? UNKNOWN : settledState(planned.pause === true),
            details: UNKNOWN,
            backup_entries: UNKNOWN,
            created_at: UNKNOWN,
            secret_fingerprints: UNKNOWN,
          },
          requiresReplace: dedupe(replaces.map(terraformPath)),
          diagnostics,
        };
      }
      // In place: the state it settles in is known; details and backup entries stay as read
      // (the next refresh records any change of them, as computed outputs do).
      planned.status = planned.pause === UNKNOWN ? UNKNOWN : settledState(planned.pause === true);
      planned.details = prior.details ?? null;
      planned.backup_entries = prior.backup_entries ?? null;
      return { planned, diagnostics };
    },

    async apply(req: ApplyRequest, ctx: ProviderContext): Promise<ApplyResult> {
      const { prior, planned, config } = req;
      const client = await ctx.client();
      const lifecycle = await lifecycleFor(client);
      if (planned === null) {
        if (prior && str(prior.id)) {
          await lifecycle.delete(str(prior.id)!, {
            deadlineMs: timeoutOf(prior, "delete"),
            signal: ctx.signal,
          });
        }
        return { newState: null };
      }
      // Write-only secrets are only in the configuration.
      const source: TfObject = { ...planned, ...pick(config ?? {}, ["secrets"]) };
      for (const k of ["backups", "recover_from"]) {
        const p = obj(planned[k]);
        const c = obj(config?.[k]);
        if (p && c) source[k] = { ...p, secrets: c.secrets ?? null };
      }
      const team = teamOf(planned, ctx);
      if (typeof team !== "number")
        fail("No team for the managed service", "team_id is not known", ["team_id"]);

      if (prior === null) {
        const { CreateIncompleteError, NameTakenError } = await loadLifecycle();
        const body = createBody(source, team);
        try {
          const { service } = await lifecycle.create(specOfBody(body, planned.pause === true), {
            deadlineMs: timeoutOf(planned, "create"),
            signal: ctx.signal,
            idempotencyKey: randomUUID(),
          });
          return {
            newState: stateAfter(planned, service, fingerprintsOf(source, fingerprintKey(ctx, service.id))),
          };
        } catch (error) {
          if (error instanceof CreateIncompleteError) {
            // Created but not settled: record it (Terraform marks it tainted) so it is not lost.
            const partial = error.service;
            const state = stateAfter(
              planned,
              partial,
              fingerprintsOf(source, fingerprintKey(ctx, partial.id)),
            );
            return { newState: known(state), diagnostics: [errorOf(error, "Create did not finish")] };
          }
          if (error instanceof NameTakenError || isConflict(error)) {
            const existing = error instanceof NameTakenError ? error.existing : undefined;
            fail(
              `A managed service named "${body.name}" already exists in team ${team}`,
              existing
                ? `Adopt it with an import block (import { to = ${TYPE_NAME}.NAME, id = "${existing.id}" }) or ` +
                    `terraform import ${TYPE_NAME}.NAME ${existing.id}; or choose another name.`
                : "Choose another name, or import the existing service.",
              ["name"],
            );
          }
          throw error;
        }
      }

      const id = str(prior.id)!;
      const key = fingerprintKey(ctx, id);
      const body = updateBody(prior, source, key);
      try {
        const service = await lifecycle.applyUpdate(id, body, planned.pause === true, {
          deadlineMs: timeoutOf(planned, "update"),
          signal: ctx.signal,
        });
        return { newState: stateAfter(planned, service, fingerprintsOf(source, key)) };
      } catch (error) {
        return { newState: prior, diagnostics: [errorOf(error, "Update did not finish")] };
      }
    },

    async read(state: TfObject, _priv, ctx: ProviderContext): Promise<ReadResult> {
      const id = str(state.id);
      if (!id) return { newState: null };
      const client = await ctx.client();
      const { NotFoundError } = await import("../../sdk/errors.js");
      let service: schemas.ManagedService;
      try {
        service = await client.managedServices.get(id, { signal: ctx.signal });
      } catch (error) {
        if (error instanceof NotFoundError) return { newState: null };
        throw error;
      }
      if (service.status.state === "deleted" || service.status.state === "deleting")
        return { newState: null };
      let readOnlyParameters: Set<string> | undefined;
      if (state.plan_parameters === null) {
        // Imported: leave out parameters the plan fixes, which a configuration never sets.
        const entries = await catalogFor(client, num(state.team_id) ?? undefined).catch(() => []);
        const { findProvider } = await loadCatalogChecks();
        const provider = findProvider(entries, service.provider.name, service.provider.schemaVersion);
        const plan = provider?.plans.find((p) => p.id === service.plan.id);
        readOnlyParameters = new Set(
          Object.entries(plan?.parameters ?? {})
            .filter(([, p]) => p.schema.readOnly === true)
            .map(([k]) => k),
        );
      }
      return { newState: stateFromApi(state, service, readOnlyParameters) };
    },

    async importState(id: string, ctx: ProviderContext): Promise<TfObject> {
      const m = /^(?:(\d+)\/)?([0-9a-fA-F-]{36})$/.exec(id.trim());
      if (!m) {
        fail("Invalid import id", `Expected a managed service id (UUID) or TEAM_ID/SERVICE_ID, got "${id}".`);
      }
      const team = m[1] !== undefined ? Number(m[1]) : typeof ctx.teamId === "number" ? ctx.teamId : null;
      const empty: TfObject = Object.fromEntries(
        MANAGED_SERVICE_SCHEMA.block.attributes.map((a) => [a.name, null]),
      );
      return { ...empty, timeouts: null, id: m[2]!.toLowerCase(), team_id: team };
    },
  };
}

// ---------------------------------------------------------------- request bodies

function pick(v: TfObject, keys: string[]): TfObject {
  const out: TfObject = {};
  for (const k of keys) if (k in v) out[k] = v[k]!;
  return out;
}

function secretValues(v: TfObject): TfValue[] {
  return [v.secrets ?? null, obj(v.backups)?.secrets ?? null, obj(v.recover_from)?.secrets ?? null];
}

function dedupe(paths: PathStep[][]): PathStep[][] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const k = JSON.stringify(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function createBody(v: TfObject, team: number): schemas.CreateManagedServiceRequest {
  const backups = obj(v.backups);
  const recover = obj(v.recover_from);
  const version = str(v.provider_version);
  return {
    teamId: team,
    name: str(v.name)!,
    provider: { name: str(v.provider_name)!, ...(version ? { version } : {}) },
    plan: { id: num(v.plan_id)!, parameters: jsonValues(v.plan_parameters) as Record<string, number> },
    config: jsonValues(v.config),
    secrets: jsonValues(v.secrets),
    ...(backups ? { backups: backupsBody(backups) as schemas.BackupsRequest } : {}),
    ...(recover
      ? {
          recoverFrom: (recover.backup_id
            ? {
                id: str(recover.backup_id)!,
                config: jsonValues(recover.config),
                secrets: jsonValues(recover.secrets),
              }
            : {
                msId: str(recover.service_id)!,
                time: str(recover.time)!,
                config: jsonValues(recover.config),
                secrets: jsonValues(recover.secrets),
              }) as schemas.RecoverFrom,
        }
      : {}),
  };
}

/**
 * The create body as the shared lifecycle's spec, which sends it back
 * unchanged (provider/core/requests `createRequest`); pause follows the create.
 */
function specOfBody(body: schemas.CreateManagedServiceRequest, pause: boolean): ServiceSpec {
  return {
    ...body,
    provider: { name: body.provider.name, version: body.provider.version as string },
    backups: body.backups as ServiceSpec["backups"],
    pause,
  };
}

function backupsBody(b: Obj): schemas.BackupsRequest | { enabled: boolean; [k: string]: unknown } {
  if (b.enabled !== true) return { enabled: false };
  return {
    enabled: true,
    intervalH: num(b.interval_h) ?? 24,
    deleteRetentionDays: num(b.delete_retention_days) ?? 7,
    config: jsonValues(b.config),
    secrets: jsonValues(b.secrets),
  };
}

/** Removed keys are sent as null: the API merges a PATCH's values and deletes null ones. */
function withRemovals(before: TfValue | undefined, after: TfValue | undefined): schemas.Values {
  const out: schemas.Values = jsonValues(after);
  for (const k of Object.keys(obj(before ?? null) ?? {})) if (!(k in out)) out[k] = null;
  return out;
}

/** What PATCH sends: only what differs from the prior state (secrets when their fingerprints differ). */
export function updateBody(
  prior: TfObject,
  next: TfObject,
  key: string,
): schemas.UpdateManagedServiceRequest {
  const body: schemas.UpdateManagedServiceRequest = {};
  if (!valuesEqual(prior.name, next.name)) body.name = str(next.name);
  if (
    !valuesEqual(prior.plan_id, next.plan_id) ||
    !valuesEqual(prior.plan_parameters, next.plan_parameters)
  ) {
    body.plan = {
      id: num(next.plan_id)!,
      parameters: jsonValues(next.plan_parameters) as Record<string, number>,
    };
  }
  if (!valuesEqual(prior.config, next.config)) body.config = withRemovals(prior.config, next.config);
  if (!valuesEqual(prior.pause, next.pause)) body.pause = next.pause === true;
  const versionBumped = !valuesEqual(prior.secrets_version, next.secrets_version);
  const fingerprints = fingerprintsOf(next, key);
  const recorded = (obj(prior.secret_fingerprints) as Record<string, string> | null) ?? {};
  const changed = (field: string) => {
    const keys = new Set(
      [...Object.keys(fingerprints), ...Object.keys(recorded)].filter((k) => k.startsWith(`${field}.`)),
    );
    return [...keys].some((k) => fingerprints[k] !== recorded[k]);
  };
  if ((versionBumped || changed("secrets")) && next.secrets !== null) body.secrets = jsonValues(next.secrets);
  const pb = obj(prior.backups);
  const nb = obj(next.backups);
  const backupsChanged =
    !valuesEqual(withoutSecrets({ b: pb }).b ?? null, nb ? { ...nb, secrets: null } : null) ||
    ((versionBumped || changed("backups.secrets")) && nb?.enabled === true);
  if (nb && backupsChanged) {
    body.backups =
      nb.enabled === true
        ? {
            enabled: true,
            intervalH: num(nb.interval_h) ?? 24,
            deleteRetentionDays: num(nb.delete_retention_days) ?? 7,
            config: jsonValues(nb.config),
            ...(nb.secrets !== null ? { secrets: jsonValues(nb.secrets) } : {}),
          }
        : { enabled: false };
  }
  return body;
}

// ---------------------------------------------------------------- from the API

/** The value kept when the API reports the same thing another way (so no phantom drift). */
function keepIfSame(prior: TfValue | undefined, reported: TfValue): TfValue {
  return prior !== undefined && prior !== null && valuesEqual(prior, reported) ? prior : reported;
}

/** The reported values restricted to the keys the prior value had (all of them when it had none). */
function narrow(prior: TfValue | undefined, reported: Record<string, unknown>, drop?: Set<string>): TfValue {
  const p = obj(prior ?? null);
  const out: Record<string, TfValue> = {};
  for (const [k, v] of Object.entries(reported)) {
    if (p ? !(k in p) : drop?.has(k)) continue;
    out[k] = v as TfValue;
  }
  return keepIfSame(prior, out);
}

function entriesOf(service: schemas.ManagedService): TfValue {
  return service.backups.entries.map((e) => ({
    id: e.id,
    scheduled_at: e.scheduledAt,
    initiated_at: e.initiatedAt ?? null,
    confirmed_at: e.confirmedAt ?? null,
  }));
}

/** State after a refresh: what the API reports now, in the shape the configuration used. */
export function stateFromApi(
  state: TfObject,
  service: schemas.ManagedService,
  dropParameters?: Set<string>,
): TfObject {
  const priorBackups = obj(state.backups);
  let backups: TfValue = state.backups ?? null;
  if (priorBackups || service.backups.enabled) {
    const view = service.backups;
    backups = keepIfSame(state.backups, {
      enabled: view.enabled,
      interval_h: view.enabled ? view.intervalH : (priorBackups?.interval_h ?? null),
      delete_retention_days: view.enabled
        ? view.deleteRetentionDays
        : (priorBackups?.delete_retention_days ?? null),
      config: view.enabled ? narrow(priorBackups?.config, view.config) : (priorBackups?.config ?? null),
      secrets: priorBackups?.secrets ?? null,
    });
    if (!priorBackups && !view.enabled) backups = null;
  }
  return {
    ...state,
    id: service.id,
    name: service.name,
    provider_name: service.provider.name,
    provider_version: sameVersion(state.provider_version, service.provider.schemaVersion)
      ? state.provider_version!
      : service.provider.schemaVersion,
    plan_id: service.plan.id,
    plan_parameters: narrow(state.plan_parameters, service.plan.parameters, dropParameters),
    config: narrow(state.config, service.config),
    pause: service.pause,
    backups,
    status: service.status.state,
    details: keepIfSame(state.details, (service.details ?? {}) as TfValue),
    backup_entries: keepIfSame(state.backup_entries, entriesOf(service)),
    created_at: service.createdAt,
  };
}

/** State after create or update: the plan, with what was unknown filled in from the API. */
function stateAfter(
  planned: TfObject,
  service: schemas.ManagedService,
  fingerprints: Record<string, string>,
): TfObject {
  const reported = stateFromApi({ ...planned }, service);
  const out: TfObject = { ...planned };
  for (const [k, v] of Object.entries(planned)) {
    if (v === UNKNOWN) out[k] = reported[k] ?? null;
  }
  if (planned.secret_fingerprints === UNKNOWN) out.secret_fingerprints = fingerprints;
  // Outputs always as the API has them now.
  out.status = planned.status === UNKNOWN ? service.status.state : (planned.status ?? null);
  return known(out);
}

/** Replaces any unknown left at any depth with null (state must be wholly known). */
function known(v: TfObject): TfObject {
  const fix = (x: TfValue): TfValue => {
    if (isWhollyKnown(x)) return x; // the same object, so a dynamic value keeps its exact type
    if (x === UNKNOWN) return null;
    if (Array.isArray(x)) return x.map(fix);
    if (x !== null && typeof x === "object") {
      return Object.fromEntries(Object.entries(x).map(([k, e]) => [k, fix(e)]));
    }
    return x;
  };
  return fix(v) as TfObject;
}

function isConflict(error: unknown): boolean {
  return (error as { status?: number })?.status === 409;
}

function errorOf(error: unknown, summary: string): Diagnostic {
  if (error instanceof DiagnosticsError) return error.diagnostics[0]!;
  return errorDiagnostic(summary, error instanceof Error ? error.message : String(error));
}
