/**
 * Data source `codesphere_providers`: the provider catalog (what can be
 * created, in which versions and plans), optionally for one team and one
 * provider name. Schemas are JSON text, for `jsondecode()`.
 */
import type * as schemas from "../../sdk/schemas";
import { type Diagnostic, errorDiagnostic } from "./diagnostics";
import type { DataSourceHandler, ProviderContext, TfObject } from "./provider";
import type { SchemaSpec } from "./schema";
import type { CtyType, TfValue } from "./values";

export const CATALOG_TYPE_NAME = "codesphere_providers";

const PLAN: CtyType = [
  "object",
  { id: "number", name: "string", description: "string", parameters: ["map", "string"] },
];
const ENTRY: CtyType = [
  "object",
  {
    name: "string",
    version: "string",
    display_name: "string",
    category: "string",
    description: "string",
    author: "string",
    scope: "string",
    capabilities: ["object", { pause: "bool", backups: "bool", point_in_time_recovery: "bool" }],
    plans: ["list", PLAN],
    config_schema: "string",
    secrets_schema: "string",
    details_schema: "string",
  },
];

export const CATALOG_SCHEMA: SchemaSpec = {
  version: 0,
  block: {
    description: "The managed-service provider catalog: providers, their schema versions, plans and schemas.",
    attributes: [
      {
        name: "team_id",
        type: "number",
        optional: true,
        description:
          "List what this team can use (global providers and its own). Default: the provider's team_id.",
      },
      { name: "name", type: "string", optional: true, description: "Only providers of this name." },
      {
        name: "providers",
        type: ["list", ENTRY],
        computed: true,
        description:
          "Catalog entries. `plans[*].parameters` holds each parameter's JSON Schema as JSON text; " +
          "`config_schema`, `secrets_schema` and `details_schema` are JSON text too.",
      },
    ],
  },
};

function entry(p: schemas.Provider): TfValue {
  return {
    name: p.name,
    version: p.schemaVersion,
    display_name: p.displayName,
    category: p.category,
    description: p.description,
    author: p.author,
    scope: p.scope ?? "global",
    capabilities: {
      pause: p.capabilities?.pause ?? false,
      backups: p.capabilities?.backups ?? false,
      point_in_time_recovery: p.capabilities?.pointInTimeRecovery ?? false,
    },
    plans: p.plans.map((plan) => ({
      id: plan.id,
      name: plan.name,
      description: plan.description,
      parameters: Object.fromEntries(
        Object.entries(plan.parameters).map(([k, v]) => [k, JSON.stringify(v.schema)]),
      ),
    })),
    config_schema: JSON.stringify(p.configSchema),
    secrets_schema: JSON.stringify(p.secretsSchema),
    details_schema: JSON.stringify(p.detailsSchema),
  };
}

export function catalogDataSource(): DataSourceHandler {
  return {
    typeName: CATALOG_TYPE_NAME,
    schema: CATALOG_SCHEMA,
    validate(config: TfObject): Diagnostic[] {
      const team = config.team_id;
      return typeof team === "number" && (!Number.isInteger(team) || team < 0)
        ? [errorDiagnostic("Invalid team_id", "team_id must be a non-negative integer", ["team_id"])]
        : [];
    },
    async read(config: TfObject, ctx: ProviderContext) {
      const client = await ctx.client();
      const team = typeof config.team_id === "number" ? config.team_id : ctx.teamId;
      const list = await client.providers.list(typeof team === "number" ? { teamId: team } : {}, {
        signal: ctx.signal,
      });
      const name = typeof config.name === "string" ? config.name : undefined;
      const chosen = list.filter((p) => name === undefined || p.name === name);
      return { state: { ...config, providers: chosen.map(entry) } };
    },
  };
}
