/**
 * The public managed-services API as a route table: each entry is the
 * published operation (same path, operationId and schemas from sdk/schemas)
 * and a thin handler that calls the service layer.
 */
import { z } from "zod";
import {
  BackupEntry,
  CreateManagedServiceRequest,
  CreateProviderRequest,
  EventPage,
  ListEventsQuery,
  ListManagedServicesQuery,
  ListProvidersQuery,
  ManagedService,
  ManagedServiceList,
  Provider,
  ProviderList,
  ProviderName,
  ProviderSchemaVersion,
  UpdateManagedServiceRequest,
  UpdateProviderRequest,
  UpsertProviderRequest,
  Uuid,
} from "../../sdk/schemas";
import type { ManagedServicesService, ProvidersService } from "../domain/types";
import { RawBody, type Route, route } from "./router";

const ServiceParams = z.strictObject({ id: Uuid });
const ProviderParams = z.strictObject({ name: ProviderName, schemaVersion: ProviderSchemaVersion });

const TAGS = ["managed-services"] as const;
const rawJson = (json: string) => new RawBody(json);

export function managedServicesRoutes(deps: {
  providers: ProvidersService;
  managedServices: ManagedServicesService;
}): Route[] {
  const { providers, managedServices } = deps;
  return [
    route({
      method: "GET",
      path: "/api/managed-services/providers",
      operationId: "managed-services-listProviders",
      summary: "List the provider catalog, optionally as one team sees it",
      tags: TAGS,
      query: ListProvidersQuery,
      response: ProviderList,
      problems: [403],
      handler: ({ caller, query }) => providers.list(caller, query.teamId),
    }),
    route({
      method: "POST",
      path: "/api/managed-services/providers",
      operationId: "managed-services-createProvider",
      summary: "Register a provider",
      tags: TAGS,
      body: CreateProviderRequest,
      response: Provider,
      problems: [403, 409, 422],
      handler: ({ caller, body }) => providers.create(caller, body),
    }),
    route({
      method: "PUT",
      path: "/api/managed-services/providers",
      operationId: "managed-services-upsertProvider",
      summary: "Register a provider or replace its definition",
      tags: TAGS,
      body: UpsertProviderRequest,
      response: Provider,
      problems: [403, 404, 422],
      handler: ({ caller, body }) => providers.upsert(caller, body),
    }),
    route({
      method: "PATCH",
      path: "/api/managed-services/providers/{name}/{schemaVersion}",
      operationId: "managed-services-updateProvider",
      summary: "Change parts of a provider",
      tags: TAGS,
      params: ProviderParams,
      body: UpdateProviderRequest,
      response: Provider,
      problems: [403, 404, 422],
      handler: ({ caller, params, body }) =>
        providers.update(caller, params.name, params.schemaVersion, body),
    }),
    route({
      method: "DELETE",
      path: "/api/managed-services/providers/{name}/{schemaVersion}",
      operationId: "managed-services-deleteProvider",
      summary: "Remove a provider from the catalog",
      tags: TAGS,
      params: ProviderParams,
      problems: [403, 404, 409],
      handler: ({ caller, params }) => providers.delete(caller, params.name, params.schemaVersion),
    }),
    route({
      method: "POST",
      path: "/api/managed-services",
      operationId: "managed-services-create",
      summary: "Create a managed service; answers at once with status creating",
      tags: TAGS,
      body: CreateManagedServiceRequest,
      response: ManagedService,
      problems: [403, 404, 409, 422],
      handler: ({ caller, body }) => managedServices.create(caller, body),
    }),
    route({
      method: "GET",
      path: "/api/managed-services",
      operationId: "managed-services-list",
      summary: "List a team's managed services",
      tags: TAGS,
      query: ListManagedServicesQuery,
      response: ManagedServiceList,
      problems: [403],
      handler: ({ caller, query }) => managedServices.list(caller, query.team, query.includeDeleted),
    }),
    route({
      method: "GET",
      path: "/api/managed-services/{id}",
      operationId: "managed-services-getDetails",
      summary: "Get one managed service",
      tags: TAGS,
      params: ServiceParams,
      response: ManagedService,
      problems: [404],
      // Kept serialized by the store with each write: sent as is. No async function: an answer
      // from memory stays synchronous (see ServiceQueries.getJson).
      handler: ({ caller, params }) => {
        const json = managedServices.getJson(caller, params.id);
        return json instanceof Promise ? json.then(rawJson) : rawJson(json);
      },
    }),
    route({
      method: "PATCH",
      path: "/api/managed-services/{id}",
      operationId: "managed-services-update",
      summary: "Change a managed service (plan, config, secrets, backups, name, pause)",
      tags: TAGS,
      params: ServiceParams,
      body: UpdateManagedServiceRequest,
      response: ManagedService,
      problems: [404, 409, 422],
      handler: ({ caller, params, body }) => managedServices.update(caller, params.id, body),
    }),
    route({
      method: "DELETE",
      path: "/api/managed-services/{id}",
      operationId: "managed-services-delete",
      summary: "Delete a managed service; answers at once with an empty 200",
      tags: TAGS,
      params: ServiceParams,
      problems: [404],
      handler: ({ caller, params }) => managedServices.delete(caller, params.id),
    }),
    route({
      method: "POST",
      path: "/api/managed-services/{id}/backups",
      operationId: "managed-services-scheduleBackup",
      summary: "Schedule a backup now",
      tags: TAGS,
      params: ServiceParams,
      response: BackupEntry,
      problems: [404, 409, 422],
      handler: ({ caller, params }) => managedServices.scheduleBackup(caller, params.id),
    }),
    route({
      method: "GET",
      path: "/api/managed-services/{id}/events",
      operationId: "managed-services-listEvents",
      summary: "Read a managed service's full event log, page by page",
      description:
        "Landform extension, not in the Codesphere API. Pass a page's nextCursor to read the next one.",
      tags: TAGS,
      extension: true,
      params: ServiceParams,
      query: ListEventsQuery,
      response: EventPage,
      problems: [404],
      handler: ({ caller, params, query }) => managedServices.events(caller, params.id, query),
    }),
  ];
}
