/**
 * The ManagedService dynamic provider: check, diff, create, read, update and
 * delete, in the Pulumi provider process. Loaded by path from ./provider (see
 * there why), so module-scope state here is ordinary: one client per API and
 * token, one catalog per API and team, kept for the life of the process.
 *
 * Inputs arrive in plain text (dynamic providers do not receive secrets
 * marked), so every value that must stay secret in state goes back wrapped
 * in Pulumi's secret envelope: secrets in checked inputs, credential-like
 * connection details and the API token in outputs. Secrets themselves are
 * never outputs; their keyed fingerprints are, with the key an encrypted
 * output (docs/decisions/005-secret-fingerprints.md).
 */
import * as os from "node:os";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { CodesphereClient } from "../../sdk/client";
import type * as schemas from "../../sdk/schemas";
import { type CheckFailure, checkSpec, findProvider } from "../core/catalog";
import { resolveConnection } from "../core/connection";
import { splitDetails } from "../core/details";
import { type BackupsSpec, FIELD_RULES, planChanges, type ServiceSpec } from "../core/fields";
import { fingerprintValues, newFingerprintKey } from "../core/fingerprints";
import { CreateIntents } from "../core/intents";
import {
  CreateIncompleteError,
  deadlinesFrom,
  ManagedServiceLifecycle,
  parseDuration,
  type Timeouts,
} from "../core/lifecycle";
import { driftBetween, observedSpec } from "../core/requests";

/** What the engine sends for a value not known yet (a preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

const isUnknown = (v: unknown): boolean => v === UNKNOWN;

// ---------------------------------------------------------------- shapes

export type Teardown = "delete" | "pause";

/** Set by a Landscape on its members: shared defaults resolved against the catalog in check. */
export interface LandscapeMembership {
  name: string;
  /** Pause the member when its provider can pause. */
  pause?: boolean;
  /** Backups for members whose provider supports them (unless the member sets its own). */
  backups?: BackupsInputs;
  /** `pause`: on delete, pause the service and leave it in place instead of deleting it. */
  teardown?: Teardown;
}

export interface BackupsInputs {
  enabled?: boolean;
  intervalH?: number;
  deleteRetentionDays?: number;
  config?: schemas.Values;
  secrets?: schemas.Values;
}

/** The resource's inputs as the provider sees them (Pulumi property names). */
export interface ServiceInputs {
  teamId: number;
  name: string;
  provider: { name: string; version: string };
  plan: { id: number; parameters?: Record<string, number> };
  config?: schemas.Values;
  secrets?: schemas.Values;
  backups?: BackupsInputs;
  pause?: boolean;
  recoverFrom?: schemas.RecoverFrom;
  adopt?: boolean;
  timeouts?: Timeouts;
  landscape?: LandscapeMembership;
  /** Where the API is; the token only when it came from stack config (else CS_TOKEN at run time). */
  __connection: { apiUrl: string; token?: string };
}

/** The resource's outputs (what state records). */
export interface ServiceOutputs {
  teamId: number;
  name: string;
  provider: { name: string; version: string };
  plan: schemas.PlanSelection;
  config: schemas.Values;
  pause: boolean;
  backups: { enabled: boolean; intervalH?: number; deleteRetentionDays?: number; config?: schemas.Values };
  recoverFrom?: Omit<schemas.RecoverFrom, "secrets">;
  adopt?: boolean;
  timeouts?: Timeouts;
  landscape?: Omit<LandscapeMembership, "backups">;
  status: schemas.ReportedServiceState;
  details: Record<string, unknown>;
  backupEntries: schemas.BackupEntry[];
  createdAt: string;
  /** API path of each secret map -> key -> fingerprint. */
  secretFingerprints: Record<string, Record<string, string>>;
  /** The fingerprint key; an encrypted output (additionalSecretOutputs). */
  fingerprintKey: string;
  __connection: { apiUrl: string; token?: unknown };
}

// ---------------------------------------------------------------- the engine's lifetime

/**
 * The engine starts providers in their own process group, so a CLI killed
 * with SIGKILL leaves this process running: it would finish a create nobody
 * records and clear the intent that lets the next run recognise it. When the
 * CLI (our parent) is gone, stop at once and leave the intents in place.
 */
const engineParent = process.ppid;
setInterval(() => {
  if (process.ppid !== engineParent) process.exit(70);
}, 250).unref();

// ---------------------------------------------------------------- process-wide caches

const clients = new Map<string, CodesphereClient>();
const catalogs = new Map<string, Promise<schemas.Provider[]>>();

function lifecycleFor(connection: ServiceInputs["__connection"]): ManagedServiceLifecycle {
  const resolved = resolveConnection(
    { apiUrl: connection.apiUrl, token: connection.token },
    process.env,
    "stack config (codesphere:apiUrl, codesphere:token)",
  );
  const key = `${resolved.apiUrl}\0${resolved.token}`;
  let client = clients.get(key);
  if (!client) {
    client = new CodesphereClient({ baseUrl: resolved.apiUrl, token: resolved.token });
    clients.set(key, client);
  }
  return new ManagedServiceLifecycle(client, { intents: new CreateIntents(intentsDir()) });
}

/** The live catalog for a team, fetched once per provider process. */
function catalogFor(lifecycle: ManagedServiceLifecycle, teamId: number): Promise<schemas.Provider[]> {
  const key = `${lifecycle.client.baseUrl}\0${teamId}`;
  let catalog = catalogs.get(key);
  if (!catalog) {
    catalog = lifecycle.client.providers.list({ teamId });
    catalogs.set(key, catalog);
    catalog.catch(() => catalogs.delete(key));
  }
  return catalog;
}

async function catalogEntry(
  lifecycle: ManagedServiceLifecycle,
  teamId: number,
  provider: { name: string; version: string },
): Promise<schemas.Provider | undefined> {
  return findProvider(await catalogFor(lifecycle, teamId), provider.name, provider.version);
}

function intentsDir(): string {
  const home = process.env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
  return path.join(home, "landform", "create-intents");
}

// ---------------------------------------------------------------- check

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
  const b = inputs.backups;
  if (b && !isUnknown(b) && b.enabled !== false) {
    if (b.intervalH === undefined) fail("backups.intervalH", "is required when backups are enabled");
    if (b.deleteRetentionDays === undefined) {
      fail("backups.deleteRetentionDays", "is required when backups are enabled");
    }
  }
}

// ---------------------------------------------------------------- diff

export async function diff(
  _id: string,
  olds: ServiceOutputs,
  news: ServiceInputs,
): Promise<pulumi.dynamic.DiffResult> {
  const changes = await changesBetween(olds, news);
  const replaces = [...new Set(changes.replaces.map(pulumiProperty))];
  const sameName = olds.name === news.name && olds.teamId === news.teamId;
  return {
    changes: changes.replaces.length + changes.updates.length > 0,
    replaces,
    // Names are unique per team: a replacement with the same name must go first.
    deleteBeforeReplace: replaces.length > 0 && sameName,
  };
}

async function changesBetween(olds: ServiceOutputs, news: ServiceInputs) {
  let entry: schemas.Provider | undefined;
  if (!isUnknown(news.__connection?.apiUrl) && !isUnknown(olds.provider)) {
    // The recorded provider's catalog entry holds the constraints of the keys being changed.
    const lifecycle = lifecycleFor(connectionOf(olds, news));
    entry = await catalogEntry(lifecycle, olds.teamId, olds.provider).catch(() => undefined);
  }
  const key = olds.fingerprintKey;
  return planChanges(recordedSpec(olds), comparableSpec(news, key), entry, { isUnknown });
}

/** `config.version` -> `config`, `provider.name` -> `provider`: what Pulumi shows as replacing. */
function pulumiProperty(apiPath: string): string {
  const rule = FIELD_RULES.find((r) => r.path === apiPath);
  return (rule?.pulumi ?? apiPath).split(".")[0]!;
}

// ---------------------------------------------------------------- create

export async function create(inputs: ServiceInputs): Promise<pulumi.dynamic.CreateResult<ServiceOutputs>> {
  const lifecycle = lifecycleFor(inputs.__connection);
  const deadlines = deadlinesFrom(inputs.timeouts);
  const spec = specOf(inputs);
  const fingerprintKey = newFingerprintKey();
  try {
    const { service } = await lifecycle.create(spec, {
      adopt: inputs.adopt === true,
      deadlineMs: deadlines.createMs,
    });
    return { id: service.id, outs: await outputsOf(lifecycle, service, inputs, fingerprintKey) };
  } catch (error) {
    if (error instanceof CreateIncompleteError) {
      // Recorded with its id, so the next `pulumi up` updates this service instead of making another.
      throw partialFailure(error, await outputsOf(lifecycle, error.service, inputs, fingerprintKey));
    }
    throw error;
  }
}

// ---------------------------------------------------------------- read (refresh)

export async function read(
  id: string,
  props?: ServiceOutputs,
): Promise<{ id?: string; props?: ServiceOutputs; inputs?: Partial<ServiceInputs> }> {
  if (!props)
    throw new Error(
      `managed service ${id}: refresh needs the recorded state (import is not supported; use adopt)`,
    );
  const lifecycle = lifecycleFor(connectionOf(props));
  const service = await lifecycle.read(id);
  // Gone (deleted outside Pulumi): an empty id tells the engine to drop it from state.
  if (!service) return { id: "" };
  // Outputs mirror what the API reports, so the next diff compares the code against reality.
  const outs = await outputsOf(lifecycle, service, props, props.fingerprintKey, props.secretFingerprints);
  const drift = driftBetween(recordedSpec(props), observedSpec(service, props.teamId));
  if (drift.length === 0) return { id, props: outs };
  // Recorded inputs follow reality too, so refresh and the next preview show what drifted
  // (`config.max_connections: "300" => "200"`). Secret inputs cannot be read back and
  // are left out; the next `pulumi up` records them again.
  return { id, props: outs, inputs: inputsFrom(outs) };
}

// ---------------------------------------------------------------- update

export async function update(
  id: string,
  olds: ServiceOutputs,
  news: ServiceInputs,
): Promise<pulumi.dynamic.UpdateResult<ServiceOutputs>> {
  const lifecycle = lifecycleFor(news.__connection);
  const changes = await changesBetween(olds, news);
  const deadlines = deadlinesFrom(news.timeouts);
  try {
    const service = await lifecycle.update(id, recordedSpec(olds), specOf(news), changes, {
      deadlineMs: deadlines.updateMs,
    });
    return { outs: await outputsOf(lifecycle, service, news, olds.fingerprintKey) };
  } catch (error) {
    // Record what the service looks like now, so the next run starts from reality.
    const latest = await lifecycle.read(id).catch(() => undefined);
    if (latest) {
      const outs = await outputsOf(lifecycle, latest, news, olds.fingerprintKey, olds.secretFingerprints);
      throw partialFailure(error as Error, outs, id);
    }
    throw error;
  }
}

// ---------------------------------------------------------------- delete

export async function remove(id: string, props: ServiceOutputs): Promise<void> {
  const lifecycle = lifecycleFor(connectionOf(props));
  const deadlines = deadlinesFrom(props.timeouts);
  if (props.landscape?.teardown === "pause") {
    // The platform's landscape teardown: pause members and keep them (and their data).
    const entry = await catalogEntry(lifecycle, props.teamId, props.provider).catch(() => undefined);
    const service = await lifecycle.read(id);
    if (service && entry?.capabilities?.pause && !service.pause) {
      await lifecycle.setPaused(id, true, { deadlineMs: deadlines.updateMs });
    }
    return;
  }
  await lifecycle.delete(id, { deadlineMs: deadlines.deleteMs });
}

// ---------------------------------------------------------------- mapping

/** Inputs (plain secrets) -> the spec in API terms. */
function specOf(inputs: ServiceInputs): ServiceSpec {
  return {
    teamId: inputs.teamId,
    name: inputs.name,
    provider: inputs.provider,
    plan: isUnknown(inputs.plan)
      ? (inputs.plan as schemas.PlanSelection)
      : { id: inputs.plan?.id, parameters: inputs.plan?.parameters ?? {} },
    config: inputs.config ?? {},
    secrets: inputs.secrets ?? {},
    ...(inputs.backups !== undefined ? { backups: backupsSpec(inputs.backups) } : {}),
    pause: inputs.pause ?? false,
    ...(inputs.recoverFrom !== undefined ? { recoverFrom: inputs.recoverFrom } : {}),
  };
}

function backupsSpec(b: BackupsInputs): BackupsSpec {
  if (isUnknown(b)) return b as BackupsSpec;
  if (b.enabled === false) return { enabled: false };
  return {
    enabled: true,
    intervalH: b.intervalH as number,
    deleteRetentionDays: b.deleteRetentionDays as number,
    config: b.config ?? {},
    secrets: b.secrets ?? {},
  };
}

/** Writes the catalog's defaults (config, plan parameters, canonical version) back into the inputs. */
function applySpec(inputs: ServiceInputs, spec: ServiceSpec): void {
  inputs.provider = spec.provider;
  inputs.plan = spec.plan;
  inputs.config = spec.config;
  inputs.secrets = spec.secrets;
  if (spec.backups?.enabled && inputs.backups && !isUnknown(inputs.backups)) {
    inputs.backups = { ...inputs.backups, config: spec.backups.config, secrets: spec.backups.secrets };
  }
}

/** The new inputs with every secret replaced by its fingerprint under the recorded key. */
function comparableSpec(news: ServiceInputs, key: string): ServiceSpec & Record<string, unknown> {
  const spec = specOf(news);
  const fp = (field: string, values: unknown) =>
    isUnknown(values) ? values : fingerprintValues(key, field, (values ?? {}) as schemas.Values);
  return {
    ...spec,
    secrets: fp("secrets", spec.secrets) as schemas.Values,
    ...(spec.backups?.enabled
      ? {
          backups: {
            ...spec.backups,
            secrets: fp("backups.secrets", spec.backups.secrets) as schemas.Values,
          },
        }
      : {}),
    ...(spec.recoverFrom && !isUnknown(spec.recoverFrom)
      ? {
          recoverFrom: {
            ...spec.recoverFrom,
            secrets: fp("recoverFrom.secrets", spec.recoverFrom.secrets) as schemas.Values,
          },
        }
      : {}),
    ...("adopt" in news ? { adopt: news.adopt } : {}),
    timeouts: news.timeouts,
  };
}

/** The recorded outputs as a spec whose secrets are fingerprints. */
function recordedSpec(olds: ServiceOutputs): ServiceSpec & Record<string, unknown> {
  const fps = olds.secretFingerprints ?? {};
  const b = olds.backups;
  return {
    teamId: olds.teamId,
    name: olds.name,
    provider: olds.provider,
    plan: olds.plan,
    config: olds.config ?? {},
    secrets: fps.secrets ?? {},
    backups: b?.enabled
      ? {
          enabled: true,
          intervalH: b.intervalH as number,
          deleteRetentionDays: b.deleteRetentionDays as number,
          config: b.config ?? {},
          secrets: fps["backups.secrets"] ?? {},
        }
      : { enabled: false },
    pause: olds.pause,
    ...(olds.recoverFrom
      ? {
          recoverFrom: {
            ...olds.recoverFrom,
            secrets: fps["recoverFrom.secrets"] ?? {},
          } as schemas.RecoverFrom,
        }
      : {}),
    adopt: olds.adopt,
    timeouts: olds.timeouts,
  };
}

/** Outputs for a service as the API reports it, plus what only the resource knows. */
async function outputsOf(
  lifecycle: ManagedServiceLifecycle,
  service: schemas.ManagedService,
  inputs: ServiceInputs | ServiceOutputs,
  fingerprintKey: string,
  recordedFingerprints?: ServiceOutputs["secretFingerprints"],
): Promise<ServiceOutputs> {
  const observed = observedSpec(service, inputs.teamId);
  const entry = await catalogEntry(lifecycle, inputs.teamId, observed.provider).catch(() => undefined);
  const { plain, secret } = splitDetails(service.details, entry?.detailsSchema);
  const details: Record<string, unknown> = { ...plain };
  for (const [k, v] of Object.entries(secret)) details[k] = sealed(v);

  const fingerprints = recordedFingerprints ?? fingerprintsOf(inputs as ServiceInputs, fingerprintKey);
  const b = observed.backups;
  const connection = inputs.__connection;
  const recover = inputs.recoverFrom as schemas.RecoverFrom | undefined;
  const outs: ServiceOutputs = {
    teamId: inputs.teamId,
    name: observed.name,
    provider: observed.provider,
    plan: observed.plan,
    config: observed.config,
    pause: observed.pause,
    backups: b?.enabled
      ? {
          enabled: true,
          intervalH: b.intervalH,
          deleteRetentionDays: b.deleteRetentionDays,
          config: b.config,
        }
      : { enabled: false },
    ...(recover ? { recoverFrom: withoutSecrets(recover) } : {}),
    ...(inputs.adopt !== undefined ? { adopt: inputs.adopt } : {}),
    ...(inputs.timeouts !== undefined ? { timeouts: inputs.timeouts } : {}),
    ...(inputs.landscape ? { landscape: withoutBackups(inputs.landscape) } : {}),
    status: service.status.state,
    details,
    backupEntries: service.backups.entries,
    createdAt: service.createdAt,
    secretFingerprints: fingerprints,
    fingerprintKey,
    __connection: {
      apiUrl: connection.apiUrl,
      ...(connection.token !== undefined ? { token: sealed(unsealed(connection.token)) } : {}),
    },
  };
  return outs;
}

/** Inputs as they would have to be to describe the service as observed (secrets aside). */
function inputsFrom(outs: ServiceOutputs): Partial<ServiceInputs> {
  const { enabled, intervalH, deleteRetentionDays, config } = outs.backups;
  return {
    teamId: outs.teamId,
    name: outs.name,
    provider: outs.provider,
    plan: outs.plan,
    config: outs.config,
    pause: outs.pause,
    ...(enabled ? { backups: { enabled, intervalH, deleteRetentionDays, config } } : {}),
    ...(outs.recoverFrom ? { recoverFrom: outs.recoverFrom as schemas.RecoverFrom } : {}),
    ...(outs.adopt !== undefined ? { adopt: outs.adopt } : {}),
    ...(outs.timeouts !== undefined ? { timeouts: outs.timeouts } : {}),
    ...(outs.landscape ? { landscape: outs.landscape } : {}),
    __connection: outs.__connection as ServiceInputs["__connection"],
  };
}

function fingerprintsOf(inputs: ServiceInputs, key: string): ServiceOutputs["secretFingerprints"] {
  const out: ServiceOutputs["secretFingerprints"] = {
    secrets: fingerprintValues(key, "secrets", inputs.secrets ?? {}),
  };
  if (inputs.backups?.enabled !== false && inputs.backups?.secrets) {
    out["backups.secrets"] = fingerprintValues(key, "backups.secrets", inputs.backups.secrets);
  }
  if (inputs.recoverFrom?.secrets) {
    out["recoverFrom.secrets"] = fingerprintValues(key, "recoverFrom.secrets", inputs.recoverFrom.secrets);
  }
  return out;
}

function withoutSecrets(r: schemas.RecoverFrom): Omit<schemas.RecoverFrom, "secrets"> {
  const { secrets: _secrets, ...rest } = r;
  return rest;
}

function withoutBackups(l: LandscapeMembership): Omit<LandscapeMembership, "backups"> {
  const { backups: _backups, ...rest } = l;
  return rest;
}

/** The connection recorded in state, or the one the new inputs carry. */
function connectionOf(olds: ServiceOutputs, news?: ServiceInputs): ServiceInputs["__connection"] {
  if (news?.__connection && !isUnknown(news.__connection.apiUrl)) return news.__connection;
  const c = olds.__connection ?? {};
  return { apiUrl: c.apiUrl, ...(c.token !== undefined ? { token: unsealed(c.token) as string } : {}) };
}

// ---------------------------------------------------------------- secrets on the wire

/** Wraps a value in Pulumi's secret envelope: the engine stores it encrypted. */
function sealed(value: unknown): unknown {
  return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

function unsealed(value: unknown): unknown {
  if (
    value &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  ) {
    return (value as { value: unknown }).value;
  }
  return value;
}

/** Checked inputs with every secret field sealed, so state never holds one in plain text. */
function sealInputs(inputs: ServiceInputs): ServiceInputs {
  const out = structuredClone(inputs) as unknown as Record<string, unknown> & ServiceInputs;
  if (out.secrets && !isUnknown(out.secrets)) out.secrets = sealed(out.secrets) as schemas.Values;
  if (out.backups && !isUnknown(out.backups) && out.backups.secrets && !isUnknown(out.backups.secrets)) {
    out.backups.secrets = sealed(out.backups.secrets) as schemas.Values;
  }
  if (out.recoverFrom && !isUnknown(out.recoverFrom) && !isUnknown(out.recoverFrom.secrets)) {
    out.recoverFrom.secrets = sealed(out.recoverFrom.secrets) as schemas.Values;
  }
  if (out.__connection?.token !== undefined && !isUnknown(out.__connection.token)) {
    out.__connection.token = sealed(out.__connection.token) as string;
  }
  return out;
}

/**
 * An error the dynamic provider host turns into "created (or updated) but
 * failed to initialise": the engine records `id` and `properties` and shows
 * `reasons`, so the next run continues from this service.
 */
function partialFailure(error: Error, properties: ServiceOutputs, id?: string): Error {
  const failure = new Error(error.message, { cause: error }) as Error & {
    id: string;
    properties: ServiceOutputs;
    reasons: string[];
  };
  failure.id = id ?? (error as CreateIncompleteError).service.id;
  failure.properties = properties;
  failure.reasons = [error.message];
  return failure;
}
