/**
 * The managed-services use cases behind the public API: each records the
 * desired state in one transaction and answers at once; the reconciler does
 * the rest. Input is checked against the provider's catalog entry first, so a
 * rejected request changes nothing.
 */
import { randomUUID } from "node:crypto";
import type * as schemas from "../../sdk/schemas";
import {
  type BackupSettings,
  NameTakenError,
  type SealedSecret,
  type ServiceRecord,
  StaleRecordError,
} from "../store/store";
import { checkUpdateWhileDeleting, deletingBackupsChange, retargetWaitingBackups } from "./deleting-backups";
import { recordEvent } from "./events";
import { backupsFor, checkRecovery, merge } from "./request-checks";
import { ServiceQueries } from "./service-queries";
import { badRequest, type Caller, conflict, type ManagedServicesService } from "./types";
import { checkAgainstSchema, checkPlanUpdate, checkValuesUpdate, resolvePlan } from "./validation";
import { viewOf } from "./view";

export { type ManagedServicesOptions, ServiceQueries } from "./service-queries";
export { statusOf, viewOf } from "./view";

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const HOUR_MS = 3_600_000;

/** Keeps the backup schedule running, or starts it anew when backups are switched on or the interval changes. */
function withSchedule(settings: BackupSettings, before: BackupSettings, at: number): BackupSettings {
  const { nextAt: _previous, ...rest } = settings;
  if (!settings.enabled || settings.intervalH === undefined) return rest;
  if (before.enabled && before.nextAt && before.intervalH === settings.intervalH) {
    return { ...rest, nextAt: before.nextAt };
  }
  return { ...rest, nextAt: new Date(at + settings.intervalH * HOUR_MS).toISOString() };
}

/** Attempts of a read-check-write that lost the race with another writer of the same service. */
const WRITE_ATTEMPTS = 5;

export class ManagedServices extends ServiceQueries implements ManagedServicesService {
  // ---------------------------------------------------------------- writes

  async create(caller: Caller, body: schemas.CreateManagedServiceRequest): Promise<schemas.ManagedService> {
    const { store, vault, catalog, now } = this.o;
    this.requireTeam(caller, body.teamId, "teamId");
    const team = new Set([body.teamId]);
    const requested = body.provider.schemaVersion ?? body.provider.version;
    const provider = await catalog.find(team, body.provider.name, requested);
    if (!provider) {
      const versions = await catalog.versionsOf(team, body.provider.name);
      throw badRequest(
        versions.length === 0
          ? `provider.name: no provider named ${body.provider.name} is visible to team ${body.teamId}`
          : `provider.version: ${body.provider.name} has no schema version ${requested} for team ${body.teamId}; available: ${versions.join(", ")}`,
      );
    }
    if (body.version !== undefined && provider.versions && !(body.version in provider.versions)) {
      throw badRequest(
        `version: ${provider.name} has no release ${body.version}; available: ${Object.keys(provider.versions).join(", ")}`,
      );
    }
    const plan = resolvePlan(provider, body.plan);
    const config = structuredClone(body.config);
    checkAgainstSchema("config", provider.configSchema, config);
    const secrets = structuredClone(body.secrets);
    checkAgainstSchema("secrets", provider.secretsSchema, secrets);
    const backups = backupsFor(provider, { enabled: false }, {}, body.backups);
    const recover = body.recoverFrom
      ? await checkRecovery(this.o.store, this.o.now, caller, provider, body.teamId, body.recoverFrom)
      : undefined;
    // No look for a live service of that name first: the write's unique index refuses it (see `named`).

    const id = randomUUID();
    const at = now();
    backups.settings = withSchedule(backups.settings, { enabled: false }, at);
    const record: ServiceRecord = {
      id,
      teamId: body.teamId,
      name: body.name,
      provider: { name: provider.name, schemaVersion: provider.schemaVersion },
      ...(body.version ? { version: body.version } : {}),
      plan,
      config,
      pause: false,
      backups: backups.settings,
      backupEntries: [],
      ...(recover ? { recoverFrom: recover.source } : {}),
      createdAt: new Date(at).toISOString(),
      state: "creating",
      generation: 1,
      observedGeneration: 0,
      sentGeneration: 0,
      secretsVersion: 1,
      sentSecretsVersion: 0,
      backendCreated: false,
      failures: 0,
      nextAttemptAt: at,
      recentEvents: [],
    };
    store.freshEventLog(id);
    const events: schemas.LogRecord[] = [];
    recordEvent(
      { addEvent: (_id, e) => void events.push(e) },
      record,
      at,
      "ServiceCreationRequested",
      `creation of ${provider.name} ${provider.schemaVersion} requested`,
      "info",
      { provider: provider.name, plan: String(plan.id) },
    );
    const sealed: SealedSecret[] = [{ kind: "service", sealed: vault.seal(secrets, id) }];
    if (backups.secrets) sealed.push({ kind: "backups", sealed: vault.seal(backups.secrets, id) });
    if (recover) sealed.push({ kind: "recover", sealed: vault.seal(recover.secrets, id) });
    // The record, its first event and its secrets in one write (one statement on PostgreSQL).
    await this.named(body.teamId, body.name, () => store.writeService(record, events, sealed));
    this.wake(id);
    return viewOf(record);
  }

  update(
    caller: Caller,
    id: string,
    body: schemas.UpdateManagedServiceRequest,
  ): Promise<schemas.ManagedService> {
    return this.retried(() => this.updateOnce(caller, id, body));
  }

  private async updateOnce(
    caller: Caller,
    id: string,
    body: schemas.UpdateManagedServiceRequest,
  ): Promise<schemas.ManagedService> {
    const { store, vault, catalog, now } = this.o;
    const current = await this.visible(caller, id);
    if (current.deletedAt) checkUpdateWhileDeleting(current, body);
    // Only a provider the service's own team may use: not one another team of the caller registered.
    const provider = await catalog.forTeam(
      current.teamId,
      current.provider.name,
      current.provider.schemaVersion,
    );
    if (!provider) {
      throw conflict(
        `provider: ${current.provider.name} ${current.provider.schemaVersion} is no longer in the catalog of team ${current.teamId}`,
      );
    }
    const next = structuredClone(current);
    const changed: string[] = [];
    let sealedSecrets: string | undefined;
    let sealedBackupSecrets: string | undefined;

    if (body.name !== undefined && body.name !== current.name) {
      await this.requireFreeName(current.teamId, body.name);
      next.name = body.name;
    }
    if (body.version !== undefined && body.version !== current.version) {
      if (provider.versions && !(body.version in provider.versions)) {
        throw badRequest(`version: ${provider.name} has no release ${body.version}`);
      }
      next.version = body.version;
      changed.push("version");
    }
    if (body.plan) {
      const plan = resolvePlan(provider, body.plan);
      checkPlanUpdate(provider, current.plan, plan);
      if (!same(plan, current.plan)) {
        next.plan = plan;
        changed.push("plan");
      }
    }
    if (body.config) {
      const config = merge(current.config, body.config);
      checkAgainstSchema("config", provider.configSchema, config);
      checkValuesUpdate("config", provider.configSchema, current.config, config);
      if (!same(config, current.config)) {
        next.config = config;
        changed.push("config");
      }
    }
    if (body.secrets) {
      const sealed = await store.sealedSecret(id, "service");
      const before = sealed ? vault.open<schemas.Values>(sealed, id) : {};
      const secrets = merge(before, body.secrets);
      checkAgainstSchema("secrets", provider.secretsSchema, secrets);
      checkValuesUpdate("secrets", provider.secretsSchema, before, secrets);
      if (!same(secrets, before)) {
        sealedSecrets = vault.seal(secrets, id);
        next.secretsVersion += 1;
        changed.push("secrets");
      }
    }
    if (body.pause !== undefined && body.pause !== current.pause) {
      if (!provider.capabilities?.pause) {
        throw badRequest(
          `pause: ${provider.name} ${provider.schemaVersion} cannot pause (capabilities.pause is not true)`,
        );
      }
      next.pause = body.pause;
      changed.push("pause");
    }
    if (body.backups) {
      const sealed = await store.sealedSecret(id, "backups");
      const before = sealed ? vault.open<schemas.Values>(sealed, id) : {};
      const backups = backupsFor(provider, current.backups, before, body.backups);
      next.backups = withSchedule(backups.settings, current.backups, now());
      if (backups.secrets && !same(backups.secrets, before))
        sealedBackupSecrets = vault.seal(backups.secrets, id);
      if (sealedBackupSecrets || !same(next.backups.config, current.backups.config)) {
        retargetWaitingBackups(next);
      }
    }

    const backendChange = changed.length > 0;
    if (!backendChange && same(next, current) && !sealedBackupSecrets) return viewOf(current);
    const at = now();
    if (current.deletedAt) {
      // The delete waits for its final backup: look again at once, with the new settings.
      next.failures = 0;
      next.nextAttemptAt = at;
    }
    if (backendChange) {
      next.generation += 1;
      next.failures = 0;
      next.nextAttemptAt = at;
      if (current.state !== "creating") {
        next.state = changed.includes("pause") ? (next.pause ? "pausing" : "unpausing") : "updating";
      }
    }
    await this.named(next.teamId, next.name, () =>
      store.transaction(async () => {
        await recordEvent(
          store,
          next,
          at,
          "ServiceUpdateRequested",
          backendChange
            ? `update of ${changed.join(", ")} requested`
            : current.deletedAt
              ? deletingBackupsChange(next)
              : "settings updated",
          "info",
          { changed: changed.join(",") },
        );
        await store.putService(next);
        if (sealedSecrets) await store.putSealedSecret(id, "service", sealedSecrets);
        if (sealedBackupSecrets) await store.putSealedSecret(id, "backups", sealedBackupSecrets);
      }),
    );
    if (backendChange || current.deletedAt || !same(next.backups, current.backups)) this.wake(id);
    return viewOf(next);
  }

  delete(caller: Caller, id: string): Promise<void> {
    return this.retried(() => this.deleteOnce(caller, id));
  }

  private async deleteOnce(caller: Caller, id: string): Promise<void> {
    const { store, now } = this.o;
    const current = await this.visible(caller, id);
    if (current.deletedAt) return; // already on its way out: deleting twice is not an error
    const at = now();
    const next = structuredClone(current);
    next.deletedAt = new Date(at).toISOString();
    next.state = "deleting";
    next.generation += 1;
    next.failures = 0;
    next.nextAttemptAt = at;
    await store.transaction(async () => {
      if (next.backups.enabled) {
        await recordEvent(
          store,
          next,
          at,
          "ServiceDeletionRequested",
          `soft delete: a final backup is taken before the backend delete; the record is kept ${next.backups.deleteRetentionDays} days`,
        );
      } else {
        // Without backups nothing is kept: the secrets go now, the backend delete follows at once.
        await store.purgeSecrets(id);
        await recordEvent(
          store,
          next,
          at,
          "ServiceDeletionRequested",
          "deletion requested; secrets purged from the vault",
        );
      }
      await store.putService(next);
    });
    this.wake(id);
  }

  scheduleBackup(caller: Caller, id: string): Promise<schemas.BackupEntry> {
    return this.retried(() => this.scheduleBackupOnce(caller, id));
  }

  private async scheduleBackupOnce(caller: Caller, id: string): Promise<schemas.BackupEntry> {
    const { store, now } = this.o;
    const current = await this.visible(caller, id);
    if (current.deletedAt) throw conflict(`id: service ${id} is ${current.state}`);
    if (!current.backups.enabled) throw badRequest("backups: backups are not enabled for this service");
    const at = now();
    const entry = { id: randomUUID(), scheduledAt: new Date(at).toISOString() };
    const next = structuredClone(current);
    next.backupEntries.push({ ...entry, reason: "manual" });
    next.nextAttemptAt = at;
    await store.transaction(async () => {
      await recordEvent(
        store,
        next,
        at,
        "BackupScheduled",
        `backup ${entry.id} scheduled on request`,
        "info",
        {
          backupId: entry.id,
        },
      );
      await store.putService(next);
    });
    this.wake(id);
    return entry;
  }

  /**
   * Tells the reconciler once the write is committed: a keyed request's
   * transaction (api/idempotency.ts) commits after the handler returns, and a
   * step that looked earlier would not find the service.
   */
  private wake(id: string): void {
    this.o.store.afterCommit(() => this.o.wake(id));
  }

  // ---------------------------------------------------------------- checks

  /** A write that a concurrent one beat to the name (the unique index refused it) is a 409 like the early check. */
  private async named<T>(team: number, name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof NameTakenError)) throw error;
      // Inside a keyed request's PostgreSQL transaction the refused write aborted it: then no id.
      const existing = await this.o.store.liveServiceNamed(team, name).catch(() => undefined);
      throw conflict(
        `name: team ${team} already has a service named "${name}"${existing ? ` (id ${existing.id})` : ""}`,
      );
    }
  }

  /**
   * Runs a read-check-write again when another writer (a request, the
   * reconciler, another replica) changed the service between the read and the
   * write: each attempt judges the request against the record as it is then.
   */
  private async retried<T>(attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof StaleRecordError)) throw error;
        if (i >= WRITE_ATTEMPTS)
          throw conflict("id: the service kept changing while this request was answered; send it again");
      }
    }
  }
}
