/**
 * The tfplugin6.Provider calls, dispatched to resource and data source
 * handlers. This layer decodes and encodes values, turns thrown
 * `DiagnosticsError`s into diagnostics, and holds the provider's
 * configuration (api_url, token, team_id with CS_API, CS_TOKEN, CS_TEAM_ID as
 * fallbacks).
 */
import type { CodesphereClient } from "../../sdk/client";
import {
  attributePath,
  type Diagnostic,
  DiagnosticsError,
  errorDiagnostic,
  type PathStep,
} from "./diagnostics";
import { type Log, stderrLog } from "./log";
import type { Message } from "./protobuf";
import { type BlockSpec, impliedType, protoSchema, type SchemaSpec } from "./schema";
import { type CtyType, decodeValue, encodeValue, fromJson, isUnknown, type TfValue, UNKNOWN } from "./values";

export type TfObject = Record<string, TfValue>;

/** What handlers know of the provider's configuration. */
export interface ProviderContext {
  /** The API client; fails with a diagnostic when the provider is not configured. */
  client(): Promise<CodesphereClient>;
  /** The provider's default team: a number, undefined (none), or UNKNOWN (known at apply). */
  teamId: number | undefined | typeof UNKNOWN;
  /** False while api_url or token are unknown (a plan before their source exists). */
  configKnown: boolean;
  /** Material for secret fingerprint keys (the API token); see provider/core/fingerprints. */
  fingerprintMaterial(): string;
  /** Whether this Terraform supports write-only attributes (1.11+). */
  writeOnlyAllowed: boolean;
  /** Fires when Terraform asks the provider to stop (interrupt). */
  signal: AbortSignal;
}

export interface PlanRequest {
  prior: TfObject | null;
  proposed: TfObject | null;
  config: TfObject | null;
  priorPrivate: Buffer | undefined;
}
export interface PlanResult {
  planned: TfObject | null;
  requiresReplace?: PathStep[][];
  plannedPrivate?: Buffer;
  diagnostics?: Diagnostic[];
}
export interface ApplyRequest {
  prior: TfObject | null;
  planned: TfObject | null;
  config: TfObject | null;
  plannedPrivate: Buffer | undefined;
}
export interface ApplyResult {
  newState: TfObject | null;
  private?: Buffer;
  diagnostics?: Diagnostic[];
}
export interface ReadResult {
  newState: TfObject | null;
  private?: Buffer;
  diagnostics?: Diagnostic[];
}

export interface ResourceHandler {
  typeName: string;
  schema: SchemaSpec;
  validate(config: TfObject, ctx: ProviderContext): Diagnostic[];
  plan(req: PlanRequest, ctx: ProviderContext): Promise<PlanResult>;
  apply(req: ApplyRequest, ctx: ProviderContext): Promise<ApplyResult>;
  read(state: TfObject, priv: Buffer | undefined, ctx: ProviderContext): Promise<ReadResult>;
  importState(id: string, ctx: ProviderContext): Promise<TfObject>;
}

export interface DataSourceHandler {
  typeName: string;
  schema: SchemaSpec;
  validate(config: TfObject): Diagnostic[];
  read(config: TfObject, ctx: ProviderContext): Promise<{ state: TfObject; diagnostics?: Diagnostic[] }>;
}

export const PROVIDER_SCHEMA: SchemaSpec = {
  version: 0,
  block: {
    description:
      "Codesphere managed services: PostgreSQL, Redis, object storage and any custom provider of the catalog.",
    attributes: [
      {
        name: "api_url",
        type: "string",
        optional: true,
        description: "Public API root, e.g. `https://codesphere.com/api`. Default: environment `CS_API`.",
      },
      {
        name: "token",
        type: "string",
        optional: true,
        sensitive: true,
        description: "API token (Bearer). Default: environment `CS_TOKEN`.",
      },
      {
        name: "team_id",
        type: "number",
        optional: true,
        description: "Team used by resources that set no `team_id`. Default: environment `CS_TEAM_ID`.",
      },
    ],
  },
};

interface Types {
  resources: Map<string, { handler: ResourceHandler; type: CtyType }>;
  dataSources: Map<string, { handler: DataSourceHandler; type: CtyType }>;
  provider: CtyType;
}

function dv(type: CtyType, value: TfValue): { msgpack: Buffer } {
  return { msgpack: encodeValue(type, value) };
}

function decodeDv(type: CtyType, v: Message | undefined): TfValue {
  if (!v) return null;
  if (v.msgpack && v.msgpack.length > 0) return decodeValue(type, v.msgpack);
  if (v.json && v.json.length > 0) return fromJson(type, JSON.parse(Buffer.from(v.json).toString("utf8")));
  return null;
}

function diagnosticsOf(log: Log, error: unknown, summary: string): Diagnostic[] {
  if (error instanceof DiagnosticsError) return error.diagnostics;
  log.log("error", summary, { error: error instanceof Error ? error.stack : String(error) });
  return [errorDiagnostic(summary, error instanceof Error ? error.message : String(error))];
}

function encodeDiagnostics(diagnostics: Diagnostic[] | undefined): Message[] {
  return (diagnostics ?? []).map((d) => ({ ...d, attribute: d.attribute }));
}

export { attributePath };

/** The handlers of every tfplugin6.Provider call this plugin answers. */
export function createProvider(options: {
  resources: ResourceHandler[];
  dataSources: DataSourceHandler[];
  env?: NodeJS.ProcessEnv;
  /** Where failures are logged; default standard error. */
  log?: Log;
}): Record<string, (req: Message) => Promise<Message> | Message> {
  const env = options.env ?? process.env;
  const log = options.log ?? stderrLog();
  const types: Types = {
    resources: new Map(
      options.resources.map((h) => [h.typeName, { handler: h, type: impliedType(h.schema.block) }]),
    ),
    dataSources: new Map(
      options.dataSources.map((h) => [h.typeName, { handler: h, type: impliedType(h.schema.block) }]),
    ),
    provider: impliedType(PROVIDER_SCHEMA.block),
  };
  const stop = new AbortController();

  let settings: { apiUrl?: string; token?: string; known: boolean } = { known: false };
  let clientPromise: Promise<CodesphereClient> | undefined;
  const ctx: ProviderContext = {
    teamId: undefined,
    configKnown: false,
    writeOnlyAllowed: false,
    signal: stop.signal,
    fingerprintMaterial: () => settings.token ?? "",
    client: () => {
      if (!settings.known) {
        throw new DiagnosticsError([
          errorDiagnostic(
            "Provider configuration is not known yet",
            "api_url or token depend on values known only after apply.",
          ),
        ]);
      }
      clientPromise ??= (async () => {
        const { CodesphereClient } = await import("../../sdk/client.js");
        return new CodesphereClient({ baseUrl: settings.apiUrl!, token: settings.token! });
      })();
      return clientPromise;
    },
  };

  const resource = (name: string) => {
    const r = types.resources.get(name);
    if (!r) throw new DiagnosticsError([errorDiagnostic(`Unknown resource type ${name}`)]);
    return r;
  };
  const dataSource = (name: string) => {
    const d = types.dataSources.get(name);
    if (!d) throw new DiagnosticsError([errorDiagnostic(`Unknown data source ${name}`)]);
    return d;
  };

  const schemas = () => ({
    provider: protoSchema(PROVIDER_SCHEMA),
    resourceSchemas: Object.fromEntries(options.resources.map((h) => [h.typeName, protoSchema(h.schema)])),
    dataSourceSchemas: Object.fromEntries(
      options.dataSources.map((h) => [h.typeName, protoSchema(h.schema)]),
    ),
    serverCapabilities: { getProviderSchemaOptional: true, planDestroy: true },
  });

  const capabilities = (req: Message) => {
    if (req.clientCapabilities?.writeOnlyAttributesAllowed) ctx.writeOnlyAllowed = true;
  };

  return {
    GetMetadata: () => ({
      serverCapabilities: { getProviderSchemaOptional: true, planDestroy: true },
      resources: options.resources.map((h) => ({ typeName: h.typeName })),
      dataSources: options.dataSources.map((h) => ({ typeName: h.typeName })),
    }),

    GetProviderSchema: schemas,

    GetFunctions: () => ({}),

    ValidateProviderConfig: (req) => {
      const config = decodeDv(types.provider, req.config) as TfObject | null;
      const diagnostics: Diagnostic[] = [];
      const url = config?.api_url;
      if (typeof url === "string" && !/^https?:\/\/./.test(url)) {
        diagnostics.push(
          errorDiagnostic(
            "Invalid api_url",
            `api_url must be an http or https URL, got ${JSON.stringify(url)}`,
            ["api_url"],
          ),
        );
      }
      const team = config?.team_id;
      if (typeof team === "number" && (!Number.isInteger(team) || team < 0)) {
        diagnostics.push(
          errorDiagnostic("Invalid team_id", "team_id must be a non-negative integer", ["team_id"]),
        );
      }
      return { diagnostics };
    },

    ConfigureProvider: (req) => {
      capabilities(req);
      const config = (decodeDv(types.provider, req.config) as TfObject | null) ?? {};
      const diagnostics: Diagnostic[] = [];
      const apiUrl = config.api_url ?? env.CS_API;
      const token = config.token ?? env.CS_TOKEN;
      const team = config.team_id ?? (env.CS_TEAM_ID ? Number(env.CS_TEAM_ID) : undefined);
      if (isUnknown(apiUrl) || isUnknown(token)) {
        settings = { known: false };
      } else {
        if (!apiUrl) {
          diagnostics.push(
            errorDiagnostic(
              "No API URL",
              "Set api_url in the provider block or CS_API in the environment (e.g. https://codesphere.com/api).",
              ["api_url"],
            ),
          );
        }
        if (!token) {
          diagnostics.push(
            errorDiagnostic(
              "No API token",
              "Set token in the provider block or CS_TOKEN in the environment.",
              ["token"],
            ),
          );
        }
        settings = {
          apiUrl: String(apiUrl ?? ""),
          token: String(token ?? ""),
          known: diagnostics.length === 0,
        };
      }
      if (isUnknown(team)) ctx.teamId = UNKNOWN;
      else if (team === undefined || team === null) ctx.teamId = undefined;
      else if (typeof team === "number" && Number.isInteger(team) && team >= 0) ctx.teamId = team;
      else {
        diagnostics.push(
          errorDiagnostic(
            "Invalid team_id",
            `team_id (or CS_TEAM_ID) must be a non-negative integer, got ${JSON.stringify(team)}`,
            ["team_id"],
          ),
        );
      }
      ctx.configKnown = settings.known;
      return { diagnostics };
    },

    ValidateResourceConfig: (req) => {
      capabilities(req);
      const r = resource(req.typeName);
      const config = decodeDv(r.type, req.config) as TfObject;
      return { diagnostics: encodeDiagnostics(r.handler.validate(config, ctx)) };
    },

    ValidateDataResourceConfig: (req) => {
      const d = dataSource(req.typeName);
      const config = decodeDv(d.type, req.config) as TfObject;
      return { diagnostics: encodeDiagnostics(d.handler.validate(config)) };
    },

    UpgradeResourceState: (req) => {
      const r = resource(req.typeName);
      const raw = req.rawState?.json ? JSON.parse(Buffer.from(req.rawState.json).toString("utf8")) : null;
      // Version 0 is the only version so far; attributes added later read as null.
      const value = raw === null ? null : fromJson(r.type, raw);
      return { upgradedState: dv(r.type, value) };
    },

    ReadResource: async (req) => {
      capabilities(req);
      const r = resource(req.typeName);
      const state = decodeDv(r.type, req.currentState) as TfObject | null;
      if (state === null) return { newState: req.currentState };
      try {
        const result = await r.handler.read(state, req.private, ctx);
        return {
          newState: dv(r.type, result.newState),
          private: result.private ?? req.private,
          diagnostics: encodeDiagnostics(result.diagnostics),
        };
      } catch (error) {
        return {
          newState: req.currentState,
          private: req.private,
          diagnostics: diagnosticsOf(log, error, "Read failed"),
        };
      }
    },

    PlanResourceChange: async (req) => {
      capabilities(req);
      const r = resource(req.typeName);
      const prior = decodeDv(r.type, req.priorState) as TfObject | null;
      const proposed = decodeDv(r.type, req.proposedNewState) as TfObject | null;
      const config = decodeDv(r.type, req.config) as TfObject | null;
      try {
        const result = await r.handler.plan({ prior, proposed, config, priorPrivate: req.priorPrivate }, ctx);
        return {
          plannedState: dv(r.type, result.planned),
          requiresReplace: (result.requiresReplace ?? []).map(attributePath),
          plannedPrivate: result.plannedPrivate ?? req.priorPrivate,
          diagnostics: encodeDiagnostics(result.diagnostics),
        };
      } catch (error) {
        return { diagnostics: diagnosticsOf(log, error, "Plan failed") };
      }
    },

    ApplyResourceChange: async (req) => {
      const r = resource(req.typeName);
      const prior = decodeDv(r.type, req.priorState) as TfObject | null;
      const planned = decodeDv(r.type, req.plannedState) as TfObject | null;
      const config = decodeDv(r.type, req.config) as TfObject | null;
      try {
        const result = await r.handler.apply(
          { prior, planned, config, plannedPrivate: req.plannedPrivate },
          ctx,
        );
        return {
          newState: dv(r.type, result.newState),
          private: result.private,
          diagnostics: encodeDiagnostics(result.diagnostics),
        };
      } catch (error) {
        // Nothing changed that we know of: keep the prior state.
        return { newState: dv(r.type, prior), diagnostics: diagnosticsOf(log, error, "Apply failed") };
      }
    },

    ImportResourceState: async (req) => {
      capabilities(req);
      const r = resource(req.typeName);
      try {
        const state = await r.handler.importState(req.id, ctx);
        return { importedResources: [{ typeName: req.typeName, state: dv(r.type, state) }] };
      } catch (error) {
        return { diagnostics: diagnosticsOf(log, error, "Import failed") };
      }
    },

    MoveResourceState: () => ({
      diagnostics: [errorDiagnostic("Moving resources between types is not supported by this provider")],
    }),

    ReadDataSource: async (req) => {
      capabilities(req);
      const d = dataSource(req.typeName);
      const config = decodeDv(d.type, req.config) as TfObject;
      try {
        const result = await d.handler.read(config, ctx);
        return { state: dv(d.type, result.state), diagnostics: encodeDiagnostics(result.diagnostics) };
      } catch (error) {
        return { diagnostics: diagnosticsOf(log, error, "Read failed") };
      }
    },

    StopProvider: () => {
      stop.abort(new Error("Terraform asked the provider to stop"));
      return {};
    },
  };
}

export type { BlockSpec };
