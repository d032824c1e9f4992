/**
 * Resource `codesphere_managed_service`: one managed service of the
 * Codesphere public API.
 *
 * Which change replaces the service and which updates it in place comes from
 * the shared field table (provider/core/fields.ts), refined by the catalog's
 * `x-update-constraint`; inputs are checked against the live catalog
 * (provider/core/catalog-checks.ts) at plan time; create, update and delete run on
 * the shared lifecycle (provider/core/lifecycle.ts). This file is the
 * protocol side (validate, plan, apply, read, import); the schema, the
 * configuration checks, the mapping to API terms and the state from the API
 * sit beside it in ./managed-service-{schema,checks,values,state}.ts:
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
import type * as coreCatalog from "../core/catalog-checks";
import { DEFAULT_DEADLINES, settledState } from "../core/deadlines";
import { planChanges, type ServiceSpec } from "../core/fields";
import { deriveFingerprintKey } from "../core/fingerprints";
import type * as coreLifecycle from "../core/lifecycle";
import { type Diagnostic, DiagnosticsError, errorDiagnostic, fail } from "./diagnostics";
import { durationMs, validateConfig } from "./managed-service-checks";
import { MANAGED_SERVICE_SCHEMA, TYPE_NAME } from "./managed-service-schema";
import { known, stateAfter, stateFromApi } from "./managed-service-state";
import {
  coreUnknown,
  createBody,
  dedupe,
  fingerprintsOf,
  num,
  obj,
  pick,
  sameVersion,
  secretValues,
  specOf,
  specOfBody,
  specWithFingerprints,
  str,
  terraformPath,
  UNKNOWN_TEXT,
  updateBody,
  withoutSecrets,
} from "./managed-service-values";
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
import { isWhollyKnown, type TfValue, UNKNOWN, valuesEqual } from "./values";

export { MANAGED_SERVICE_SCHEMA, TYPE_NAME } from "./managed-service-schema";
export { stateFromApi } from "./managed-service-state";
export { createBody, specOf, updateBody } from "./managed-service-values";

const DEADLINE_OF = { create: "createMs", update: "updateMs", delete: "deleteMs" } as const;

function timeoutOf(state: TfObject | null, op: "create" | "update" | "delete"): number {
  const text = str(obj(state?.timeouts ?? null)?.[op]);
  return (text && durationMs(text)) || DEFAULT_DEADLINES[DEADLINE_OF[op]];
}

// ---------------------------------------------------------------- the handler

/**
 * The shared lifecycle (provider/core/lifecycle) loads the SDK, so it is
 * loaded on the first apply only: most plugin processes of a run serve a
 * schema, a validation or a plan and end.
 */
let lifecycleModule: Promise<typeof coreLifecycle> | undefined;
const loadLifecycle = () => {
  lifecycleModule ??= import("../core/lifecycle.js");
  return lifecycleModule;
};

/** The catalog checks (ajv) load on first use: processes that only serve the schema never need them. */
let catalogModule: Promise<typeof coreCatalog> | undefined;
const loadCatalogChecks = () => {
  catalogModule ??= import("../core/catalog-checks.js");
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

    validate: validateConfig,

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
      // Terraform keeps no intents journal: its state records a create that did not settle.
      const lifecycle = new (await loadLifecycle()).ManagedServiceLifecycle(client);
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

function isConflict(error: unknown): boolean {
  return (error as { status?: number })?.status === 409;
}

function errorOf(error: unknown, summary: string): Diagnostic {
  if (error instanceof DiagnosticsError) return error.diagnostics[0]!;
  return errorDiagnostic(summary, error instanceof Error ? error.message : String(error));
}
