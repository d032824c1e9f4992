/**
 * The ManagedService dynamic provider: check, diff, create, read, update and
 * delete, in the Pulumi provider process. Found by package name from the
 * project directory by the stub in ./provider (see there why), so
 * module-scope state is ordinary (./session: one client per API and token,
 * one catalog per API and team, kept for the life of the process).
 *
 * This module's path and export names are also what states written before
 * the portable stub load (`require("<checkout>/dist/provider/pulumi/
 * implementation.js").check(...)`): keep both.
 *
 * Inputs arrive in plain text (dynamic providers do not receive secrets
 * marked), so every value that must stay secret in state goes back wrapped
 * in Pulumi's secret envelope (./wire). Secrets themselves are never outputs;
 * their keyed fingerprints are, with the key an encrypted output
 * (docs/decisions/005-secret-fingerprints.md).
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as schemas from "../../sdk/schemas";
import { FIELD_RULES, planChanges } from "../core/fields";
import { newFingerprintKey } from "../core/fingerprints";
import { CreateIncompleteError, deadlinesFrom, type ManagedServiceLifecycle } from "../core/lifecycle";
import { driftBetween, observedSpec } from "../core/requests";
import { comparableSpec, inputsFrom, outputsOf, recordedSpec, specOf } from "./mapping";
import { catalogEntry, connectionOf, lifecycleFor } from "./session";
import { isUnknown, PORTABLE_STUB_PREFIX, type ServiceInputs, type ServiceOutputs } from "./shapes";
import { partialFailure } from "./wire";

export { applyLandscapeDefaults, check } from "./checks";
export {
  type BackupsInputs,
  type LandscapeMembership,
  type ServiceInputs,
  type ServiceOutputs,
  type Teardown,
  UNKNOWN,
} from "./shapes";

// ---------------------------------------------------------------- diff

/** Outputs an in-place update may change even when their input did not. */
const ALWAYS_UNSTABLE = new Set(["status", "details", "backupEntries", "__connection"]);

export async function diff(
  _id: string,
  olds: ServiceOutputs,
  news: ServiceInputs,
): Promise<pulumi.dynamic.DiffResult> {
  const changes = await changesBetween(olds, news);
  const replaces = [...new Set(changes.replaces.map(pulumiProperty))];
  const sameName = olds.name === news.name && olds.teamId === news.teamId;
  // A state written by the old stub (absolute path of a checkout) is rewritten by an update
  // that sends nothing, so later refreshes and destroys find landform by package.
  const legacy = typeof olds.__provider === "string" && !olds.__provider.includes(PORTABLE_STUB_PREFIX);
  const changed = changes.replaces.length + changes.updates.length > 0;
  return {
    changes: changed || legacy,
    replaces,
    // Names are unique per team: a replacement with the same name must go first.
    deleteBeforeReplace: replaces.length > 0 && sameName,
    ...(replaces.length === 0 ? { stables: stablesOf(olds, changes.updates) } : {}),
  };
}

/**
 * The outputs an in-place update leaves as they are: every recorded output
 * whose input does not change, less those the platform may rewrite on any
 * update (status, details, backup entries). Secret fingerprints change only
 * with a secret.
 */
export function stablesOf(olds: ServiceOutputs, updates: string[]): string[] {
  const changed = new Set(updates.map(pulumiProperty));
  if (changed.has("secrets") || updates.some((p) => p.startsWith("backups.secrets"))) {
    changed.add("secretFingerprints");
  }
  return Object.keys(olds).filter(
    (k) => !k.startsWith("__provider") && !ALWAYS_UNSTABLE.has(k) && !changed.has(k),
  );
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
  if (inputs.__import !== undefined) {
    const service = await importable(lifecycle, inputs.__import, inputs);
    return { id: service.id, outs: await outputsOf(lifecycle, service, inputs, fingerprintKey) };
  }
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

/**
 * The `import` resource option: the service with that id, in the declared
 * team, described exactly by the declared settings. Like any Pulumi import it
 * never changes the service: a difference fails naming each field. Secrets
 * cannot be read back; the declared ones are recorded as given.
 */
async function importable(
  lifecycle: ManagedServiceLifecycle,
  id: string,
  inputs: ServiceInputs,
): Promise<schemas.ManagedService> {
  const inTeam = await lifecycle.client.managedServices.list({ team: inputs.teamId });
  const service = inTeam.find((s) => s.id === id && !s.status.state.startsWith("delet"));
  if (!service) {
    throw new Error(
      `import: team ${inputs.teamId} has no managed service with id ${id} at ${lifecycle.client.baseUrl}`,
    );
  }
  const declared = specOf(inputs);
  const observed = observedSpec(service, inputs.teamId);
  const differences = driftBetween(declared, observed).map(
    (d) => `${d.path} (declared ${JSON.stringify(d.recorded)}, service ${JSON.stringify(d.observed)})`,
  );
  for (const key of ["name", "version"] as const) {
    if (declared.provider[key] !== observed.provider[key]) {
      differences.unshift(
        `provider.${key} (declared ${JSON.stringify(declared.provider[key])}, service ${JSON.stringify(observed.provider[key])})`,
      );
    }
  }
  if (differences.length > 0) {
    throw new Error(
      `import of managed service ${id} ("${service.name}"): the declared settings differ from the service in ` +
        `${differences.join(", ")}. An import never changes the service: make the program match it, or set ` +
        "`adopt: true` (without `import`) to take it over and apply the declared settings.",
    );
  }
  return service;
}

// ---------------------------------------------------------------- read (refresh)

export async function read(
  id: string,
  props?: ServiceOutputs,
): Promise<{ id?: string; props?: ServiceOutputs; inputs?: Partial<ServiceInputs> }> {
  if (!props?.__connection) {
    // `pulumi import` and `ManagedService.get` read with no state: see docs/pulumi.md, "Importing".
    throw new Error(
      `managed service ${id}: a dynamic resource cannot be read without its recorded state ` +
        "(pulumi/pulumi#16175); import it with the `import` resource option instead",
    );
  }
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
