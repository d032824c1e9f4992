/**
 * The provider catalog: bundled providers plus those registered through the
 * providers API. A provider's backend key is a secret: sealed in the vault,
 * handed to the backend client, never returned.
 */
import * as schemas from "../../sdk/schemas";
import type { Store, StoredProvider } from "../store/store";
import type { Vault } from "../store/vault";
import {
  badRequest,
  type Caller,
  conflict,
  DomainError,
  forbidden,
  notFound,
  type ProvidersService,
} from "./types";
import { checkProviderSchemas } from "./validation";

/** What the reconciler needs to reach a provider's backend. */
export interface BackendAddress {
  endpoint: string;
  key?: string;
}

const ownerOf = (name: string, schemaVersion: string) => `provider:${name}:${schemaVersion}`;

/** "15" and "v15" name the same schema version; the catalog speaks "v15". */
export function canonicalSchemaVersion(version: string): string {
  return version.startsWith("v") ? version : `v${version}`;
}

/** Who may see a provider (list it, name it in a service): everyone if global, else its teams. */
function visibleTo(p: StoredProvider, teams: ReadonlySet<number>): boolean {
  return p.scope.type === "global" || p.scope.teamIds.some((t) => teams.has(t));
}

/**
 * Whether the caller may write a provider with this scope (docs/authorization.md):
 * a global one only with an admin token, a team one only with a token acting
 * for every team in it. Checked against the current scope and the new one.
 */
function scopeWriteRefusal(caller: Caller, scope: schemas.ProviderScope): string | undefined {
  if (scope.type === "global") {
    return caller.admin ? undefined : "only an admin token may create, change or delete a global provider";
  }
  const foreign = scope.teamIds.filter((t) => !caller.teams.has(t));
  return foreign.length === 0 ? undefined : `this token does not act for team ${foreign.join(", ")}`;
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/** A catalog entry as the API shows it: without the backend key. */
function publicEntry(p: StoredProvider): schemas.Provider {
  const entry = structuredClone(p.entry);
  if ("api" in entry.backend) delete entry.backend.api.secret;
  return entry;
}

export class Catalog implements ProvidersService {
  /** Called when a provider disappears or changes, with its name and schema version. */
  onChange: (name: string, schemaVersion: string) => void = () => {};
  /**
   * Opened backend keys by provider version, for the catalog as last read:
   * dropped when a provider is written here or the catalog changed anywhere
   * (another replica's write gives the store a new catalog list).
   */
  private readonly keys = new Map<string, string | undefined>();
  private keysOf: readonly StoredProvider[] | undefined;

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly now: () => number,
  ) {}

  /** Installs (or refreshes) a bundled provider; its endpoint may change between starts. */
  async installBundled(entry: schemas.Provider): Promise<void> {
    // The entry and its sealed backend key are written together.
    await this.store.transaction(() => this.save({ entry, scope: { type: "global" }, builtin: true }));
  }

  /** The provider `name` at `version` (newest when omitted) that any of `teams` may use. */
  async find(
    teams: ReadonlySet<number>,
    name: string,
    version?: string,
  ): Promise<schemas.Provider | undefined> {
    const wanted = version === undefined ? undefined : canonicalSchemaVersion(version);
    const candidates = (await this.store.providers())
      .filter((p) => p.entry.name === name && visibleTo(p, teams))
      .filter((p) => wanted === undefined || p.entry.schemaVersion === wanted)
      .sort((a, b) => compareVersions(b.entry.schemaVersion, a.entry.schemaVersion));
    return candidates[0]?.entry;
  }

  /** The provider regardless of visibility. */
  async get(name: string, schemaVersion: string): Promise<schemas.Provider | undefined> {
    return (await this.store.providers()).find(
      (p) => p.entry.name === name && p.entry.schemaVersion === schemaVersion,
    )?.entry;
  }

  /**
   * The provider a service of `team` may use: undefined when it is gone or its
   * scope no longer includes the team. Services, the reconciler included, go
   * through this, so a scope change can never send a team's secrets to a
   * backend registered for other teams.
   */
  async forTeam(team: number, name: string, schemaVersion: string): Promise<schemas.Provider | undefined> {
    const p = (await this.store.providers()).find(
      (p) => p.entry.name === name && p.entry.schemaVersion === schemaVersion,
    );
    return p && visibleTo(p, new Set([team])) ? p.entry : undefined;
  }

  /** Versions of `name` the teams can see, for error messages. */
  async versionsOf(teams: ReadonlySet<number>, name: string): Promise<string[]> {
    return (await this.store.providers())
      .filter((p) => p.entry.name === name && visibleTo(p, teams))
      .map((p) => p.entry.schemaVersion)
      .sort(compareVersions);
  }

  async backendOf(provider: schemas.Provider): Promise<BackendAddress | undefined> {
    if (!("api" in provider.backend)) return undefined;
    const current = await this.store.providers();
    if (current !== this.keysOf) {
      this.keys.clear();
      this.keysOf = current;
    }
    // The reconciler asks on every step: open the sealed key once per provider version.
    const owner = ownerOf(provider.name, provider.schemaVersion);
    let key = this.keys.get(owner);
    if (!this.keys.has(owner)) {
      const sealed = await this.store.sealedSecret(owner, "service");
      key = sealed ? this.vault.open<string>(sealed, owner) : undefined;
      this.keys.set(owner, key);
    }
    return { endpoint: provider.backend.api.endpoint, ...(key ? { key } : {}) };
  }

  // ---------------------------------------------------------------- the providers API

  async list(caller: Caller, teamId?: number): Promise<schemas.Provider[]> {
    if (teamId !== undefined && !caller.teams.has(teamId))
      throw forbidden(`teamId: this token has no access to team ${teamId}`);
    const teams = teamId === undefined ? caller.teams : new Set([teamId]);
    return (await this.store.providers()).filter((p) => visibleTo(p, teams)).map(publicEntry);
  }

  async create(caller: Caller, body: schemas.CreateProviderRequest): Promise<schemas.Provider> {
    const stored = this.fromRequest(caller, body);
    if (await this.get(stored.entry.name, stored.entry.schemaVersion)) {
      throw conflict(
        `name: provider ${stored.entry.name} ${stored.entry.schemaVersion} already exists; use PUT to replace it or PATCH to change it`,
      );
    }
    return this.store.transaction(() => this.save(stored, this.keyOf(body)));
  }

  async upsert(caller: Caller, body: schemas.UpsertProviderRequest): Promise<schemas.Provider> {
    const stored = this.fromRequest(caller, body);
    await this.guardWritable(caller, stored.entry.name, stored.entry.schemaVersion);
    return this.store.transaction(() => this.save(stored, this.keyOf(body)));
  }

  async update(
    caller: Caller,
    name: string,
    schemaVersion: string,
    body: schemas.UpdateProviderRequest,
  ): Promise<schemas.Provider> {
    const current = await this.guardWritable(caller, name, schemaVersion);
    if (!current) throw notFound(`provider ${name} ${schemaVersion} does not exist`);
    const { scope, backend, ...fields } = body;
    const entry = { ...current.entry, ...fields } as Record<string, unknown>;
    if (backend) entry.backend = backend;
    const next: StoredProvider = {
      entry: this.parseEntry(entry),
      scope: scope ? this.checkScope(caller, scope, "scope") : current.scope,
      builtin: false,
    };
    const key = backend && "api" in backend ? (backend.api.secret ?? null) : undefined;
    return this.store.transaction(() => this.save(next, key));
  }

  async delete(caller: Caller, name: string, schemaVersion: string): Promise<void> {
    const current = await this.guardWritable(caller, name, schemaVersion);
    if (!current) throw notFound(`provider ${name} ${schemaVersion} does not exist`);
    this.keys.delete(ownerOf(name, schemaVersion));
    await this.store.transaction(async () => {
      await this.store.deleteProvider(name, schemaVersion);
      await this.store.purgeSecrets(ownerOf(name, schemaVersion));
    });
    this.store.afterCommit(() => this.onChange(name, schemaVersion));
  }

  // ---------------------------------------------------------------- internals

  private async guardWritable(
    caller: Caller,
    name: string,
    schemaVersion: string,
  ): Promise<StoredProvider | undefined> {
    const current = (await this.store.providers()).find(
      (p) => p.entry.name === name && p.entry.schemaVersion === schemaVersion,
    );
    if (!current) return undefined;
    if (!visibleTo(current, caller.teams)) throw notFound(`provider ${name} ${schemaVersion} does not exist`);
    if (current.builtin) {
      throw forbidden(
        `provider ${name} ${schemaVersion} is bundled with the control plane and cannot be changed`,
      );
    }
    const refusal = scopeWriteRefusal(caller, current.scope);
    if (refusal) {
      throw forbidden(
        `provider ${name} ${schemaVersion} is ${current.scope.type === "global" ? "global" : "a team provider"}: ${refusal}`,
      );
    }
    return current;
  }

  private keyOf(body: schemas.CreateProviderRequest): string | null {
    return "backend" in body && "api" in body.backend ? (body.backend.api.secret ?? null) : null;
  }

  private fromRequest(caller: Caller, body: schemas.CreateProviderRequest): StoredProvider {
    if (!("backend" in body)) {
      throw new DomainError(
        422,
        "Unprocessable Entity",
        "gitUrl: the reference control plane cannot fetch provider definitions from git; send the definition in full",
      );
    }
    const { scope, version, schemaVersion, ...fields } = body;
    // Authorization before validation: a refused caller learns nothing from the checks that follow.
    const checkedScope = this.checkScope(
      caller,
      scope ?? { type: "global" },
      scope ? "scope" : "scope (omitted: global)",
    );
    const sv = schemaVersion ?? version ?? "v1";
    if (version && schemaVersion && version !== schemaVersion) {
      throw badRequest(
        `version: ${version} and schemaVersion: ${schemaVersion} must agree when both are given`,
      );
    }
    const entry = this.parseEntry({ ...fields, version: sv, schemaVersion: sv, createdAt: undefined });
    return { entry, scope: checkedScope, builtin: false };
  }

  private parseEntry(raw: Record<string, unknown>): schemas.Provider {
    const { createdAt: _ignored, ...rest } = raw;
    const result = schemas.Provider.safeParse(rest);
    if (!result.success) {
      throw badRequest(result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    }
    // Create, replace and PATCH all pass here: nothing is stored that will not compile.
    checkProviderSchemas(result.data);
    return result.data;
  }

  /** The new scope of a provider being written, if the caller may give it that scope. */
  private checkScope(caller: Caller, scope: schemas.ProviderScope, field: string): schemas.ProviderScope {
    if (scope.type === "team" && scope.teamIds.length === 0) {
      throw badRequest("scope.teamIds: must name at least one team");
    }
    const refusal = scopeWriteRefusal(caller, scope);
    if (refusal) throw forbidden(`${scope.type === "team" ? "scope.teamIds" : field}: ${refusal}`);
    return scope;
  }

  /** Writes a provider; `key` undefined keeps the stored backend key, null removes it. */
  private async save(p: StoredProvider, key?: string | null): Promise<schemas.Provider> {
    const owner = ownerOf(p.entry.name, p.entry.schemaVersion);
    this.keys.delete(owner);
    const entry = structuredClone(p.entry) as schemas.Provider;
    const given = "api" in entry.backend ? entry.backend.api.secret : undefined;
    if ("api" in entry.backend) delete entry.backend.api.secret;
    if ("landscape" in entry.backend && !("createdAt" in entry)) {
      (entry as { createdAt?: string }).createdAt = new Date(this.now()).toISOString();
    }
    entry.scope = p.scope.type;
    await this.store.putProvider({ ...p, entry });
    const newKey = key === undefined ? given : key;
    if (newKey) await this.store.putSealedSecret(owner, "service", this.vault.seal(newKey, owner));
    else if (key === null) await this.store.purgeSecrets(owner);
    // Once committed: the reconciler then reads the new catalog.
    this.store.afterCommit(() => this.onChange(p.entry.name, p.entry.schemaVersion));
    return publicEntry({ ...p, entry });
  }
}
