/**
 * The resources of the client, one method per operation, mirroring the
 * endpoints one to one: the provider catalog (`Providers`) and managed
 * services (`ManagedServices`). Requests are checked against the contract
 * before they leave (`validate`), answers parsed with it (./api-core.ts).
 */
import { z } from "zod";
import { type ApiCore, enc, validate } from "./api-core";
import * as schemas from "./schemas";
import type { RequestOptions } from "./transport";

/** Query of `GET /managed-services`. */
export interface ListManagedServicesParams {
  team: number;
  /** Default false. */
  includeDeleted?: boolean;
}

/** Query of `GET /managed-services/providers`. */
export interface ListProvidersParams {
  /** Only the providers this team can use (global ones and its own). */
  teamId?: number;
}

/** Query of `GET /managed-services/{id}/events` (EXTENSION). */
export interface ListEventsParams {
  /** `nextCursor` of the previous page. */
  cursor?: string;
  limit?: number;
}

const IdParam = z.strictObject({ id: schemas.Uuid });
const ProviderParams = z.strictObject({
  name: schemas.ProviderName,
  schemaVersion: schemas.ProviderSchemaVersion,
});

export class Providers {
  readonly #core: ApiCore;
  constructor(core: ApiCore) {
    this.#core = core;
  }

  /** `GET /managed-services/providers` (managed-services-listProviders). */
  async list(params: ListProvidersParams = {}, options?: RequestOptions): Promise<schemas.Provider[]> {
    const operation = "managed-services-listProviders";
    const query = validate(operation, schemas.ListProvidersQuery, {
      teamId: params.teamId === undefined ? undefined : String(params.teamId),
    });
    return this.#core.json(
      { operation, method: "GET", path: "/managed-services/providers", query: { teamId: query.teamId } },
      schemas.ProviderList,
      options,
    );
  }

  /** `POST /managed-services/providers` (managed-services-createProvider). Not retried without `idempotencyKey`. */
  async create(body: schemas.CreateProviderRequest, options?: RequestOptions): Promise<schemas.Provider> {
    const operation = "managed-services-createProvider";
    return this.#core.json(
      {
        operation,
        method: "POST",
        path: "/managed-services/providers",
        body: validate(operation, schemas.CreateProviderRequest, body),
      },
      schemas.Provider,
      options,
    );
  }

  /** `PUT /managed-services/providers` (managed-services-upsertProvider). */
  async upsert(body: schemas.UpsertProviderRequest, options?: RequestOptions): Promise<schemas.Provider> {
    const operation = "managed-services-upsertProvider";
    return this.#core.json(
      {
        operation,
        method: "PUT",
        path: "/managed-services/providers",
        body: validate(operation, schemas.UpsertProviderRequest, body),
      },
      schemas.Provider,
      options,
    );
  }

  /** `PATCH /managed-services/providers/{name}/{schemaVersion}` (managed-services-updateProvider). */
  async update(
    name: string,
    schemaVersion: string,
    body: schemas.UpdateProviderRequest,
    options?: RequestOptions,
  ): Promise<schemas.Provider> {
    const operation = "managed-services-updateProvider";
    const p = validate(operation, ProviderParams, { name, schemaVersion });
    return this.#core.json(
      {
        operation,
        method: "PATCH",
        path: `/managed-services/providers/${enc(p.name)}/${enc(p.schemaVersion)}`,
        body: validate(operation, schemas.UpdateProviderRequest, body),
      },
      schemas.Provider,
      options,
    );
  }

  /** `DELETE /managed-services/providers/{name}/{schemaVersion}` (managed-services-deleteProvider). */
  async delete(name: string, schemaVersion: string, options?: RequestOptions): Promise<void> {
    const operation = "managed-services-deleteProvider";
    const p = validate(operation, ProviderParams, { name, schemaVersion });
    return this.#core.empty(
      {
        operation,
        method: "DELETE",
        path: `/managed-services/providers/${enc(p.name)}/${enc(p.schemaVersion)}`,
      },
      options,
    );
  }
}

export class ManagedServices {
  readonly #core: ApiCore;
  constructor(core: ApiCore) {
    this.#core = core;
  }

  /** `POST /managed-services` (managed-services-create). Not retried without `idempotencyKey`. */
  async create(
    body: schemas.CreateManagedServiceRequest,
    options?: RequestOptions,
  ): Promise<schemas.ManagedService> {
    const operation = "managed-services-create";
    return this.#core.json(
      {
        operation,
        method: "POST",
        path: "/managed-services",
        body: validate(operation, schemas.CreateManagedServiceRequest, body),
      },
      schemas.ManagedService,
      options,
    );
  }

  /** `GET /managed-services?team=&includeDeleted=` (managed-services-list). */
  async list(params: ListManagedServicesParams, options?: RequestOptions): Promise<schemas.ManagedService[]> {
    const operation = "managed-services-list";
    const query = validate(operation, schemas.ListManagedServicesQuery, {
      team: params?.team === undefined ? undefined : String(params.team),
      includeDeleted: String(params?.includeDeleted ?? false),
    });
    return this.#core.json(
      { operation, method: "GET", path: "/managed-services", query },
      schemas.ManagedServiceList,
      options,
    );
  }

  /** `GET /managed-services/{id}` (managed-services-getDetails). */
  async get(id: string, options?: RequestOptions): Promise<schemas.ManagedService> {
    const operation = "managed-services-getDetails";
    const p = validate(operation, IdParam, { id });
    return this.#core.json(
      { operation, method: "GET", path: `/managed-services/${enc(p.id)}` },
      schemas.ManagedService,
      options,
    );
  }

  /** `PATCH /managed-services/{id}` (managed-services-update): sets desired state, so it is retried. */
  async update(
    id: string,
    body: schemas.UpdateManagedServiceRequest,
    options?: RequestOptions,
  ): Promise<schemas.ManagedService> {
    const operation = "managed-services-update";
    const p = validate(operation, IdParam, { id });
    return this.#core.json(
      {
        operation,
        method: "PATCH",
        path: `/managed-services/${enc(p.id)}`,
        body: validate(operation, schemas.UpdateManagedServiceRequest, body),
      },
      schemas.ManagedService,
      options,
    );
  }

  /** `DELETE /managed-services/{id}` (managed-services-delete). */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    const operation = "managed-services-delete";
    const p = validate(operation, IdParam, { id });
    return this.#core.empty({ operation, method: "DELETE", path: `/managed-services/${enc(p.id)}` }, options);
  }

  /** `POST /managed-services/{id}/backups` (managed-services-scheduleBackup). Not retried without `idempotencyKey`. */
  async scheduleBackup(id: string, options?: RequestOptions): Promise<schemas.BackupEntry> {
    const operation = "managed-services-scheduleBackup";
    const p = validate(operation, IdParam, { id });
    return this.#core.json(
      { operation, method: "POST", path: `/managed-services/${enc(p.id)}/backups` },
      schemas.BackupEntry,
      options,
    );
  }

  /** EXTENSION `GET /managed-services/{id}/events`: the full event log, oldest first, paged. */
  async events(
    id: string,
    params: ListEventsParams = {},
    options?: RequestOptions,
  ): Promise<schemas.EventPage> {
    const operation = "managed-services-listEvents";
    const p = validate(operation, IdParam, { id });
    const query = validate(operation, schemas.ListEventsQuery, {
      cursor: params.cursor,
      limit: params.limit === undefined ? undefined : String(params.limit),
    });
    return this.#core.json(
      { operation, method: "GET", path: `/managed-services/${enc(p.id)}/events`, query },
      schemas.EventPage,
      options,
    );
  }
}
