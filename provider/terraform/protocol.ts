/**
 * The wire messages this plugin uses, written for this project from the
 * published Terraform plugin protocol 6 (tfplugin6, up to 6.9) and
 * go-plugin's controller and the gRPC health service. Only what the plugin
 * reads or writes is listed; unknown fields are skipped on decode. Field
 * numbers are facts of the wire format (see docs/decisions/006).
 */
import type { FieldSpec, Registry } from "./protobuf";

const f = (id: number, type: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ id, type, ...extra });
const list = (id: number, type: string): FieldSpec => ({ id, type, repeated: true });
const map = (id: number, type: string): FieldSpec => ({ id, type, map: true });

const DIAGNOSTICS = "Diagnostic";

export const registry: Registry = {
  Empty: {},

  // ---- tfplugin6 shared parts
  DynamicValue: { msgpack: f(1, "bytes"), json: f(2, "bytes") },
  Diagnostic: {
    severity: f(1, "enum"), // 1 ERROR, 2 WARNING
    summary: f(2, "string"),
    detail: f(3, "string"),
    attribute: f(4, "AttributePath"),
  },
  AttributePath: { steps: list(1, "AttributePath.Step") },
  "AttributePath.Step": {
    attributeName: f(1, "string"),
    elementKeyString: f(2, "string"),
    elementKeyInt: f(3, "int64"),
  },
  RawState: { json: f(1, "bytes"), flatmap: map(2, "string") },
  Schema: { version: f(1, "int64"), block: f(2, "Schema.Block") },
  "Schema.Block": {
    version: f(1, "int64"),
    attributes: list(2, "Schema.Attribute"),
    blockTypes: list(3, "Schema.NestedBlock"),
    description: f(4, "string"),
    descriptionKind: f(5, "enum"),
    deprecated: f(6, "bool"),
  },
  "Schema.Attribute": {
    name: f(1, "string"),
    type: f(2, "bytes"),
    nestedType: f(10, "Schema.Object"),
    description: f(3, "string"),
    required: f(4, "bool"),
    optional: f(5, "bool"),
    computed: f(6, "bool"),
    sensitive: f(7, "bool"),
    descriptionKind: f(8, "enum"),
    deprecated: f(9, "bool"),
    writeOnly: f(11, "bool"),
  },
  "Schema.NestedBlock": {
    typeName: f(1, "string"),
    block: f(2, "Schema.Block"),
    nesting: f(3, "enum"), // 1 SINGLE, 2 LIST, 3 SET, 4 MAP, 5 GROUP
    minItems: f(4, "int64"),
    maxItems: f(5, "int64"),
  },
  "Schema.Object": { attributes: list(1, "Schema.Attribute"), nesting: f(3, "enum") },
  ServerCapabilities: {
    planDestroy: f(1, "bool"),
    getProviderSchemaOptional: f(2, "bool"),
    moveResourceState: f(3, "bool"),
  },
  ClientCapabilities: { deferralAllowed: f(1, "bool"), writeOnlyAttributesAllowed: f(2, "bool") },

  // ---- tfplugin6 calls
  "GetMetadata.Response": {
    serverCapabilities: f(1, "ServerCapabilities"),
    diagnostics: list(2, DIAGNOSTICS),
    dataSources: list(3, "TypeName"),
    resources: list(4, "TypeName"),
  },
  TypeName: { typeName: f(1, "string") },
  "GetProviderSchema.Response": {
    provider: f(1, "Schema"),
    resourceSchemas: map(2, "Schema"),
    dataSourceSchemas: map(3, "Schema"),
    diagnostics: list(4, DIAGNOSTICS),
    serverCapabilities: f(6, "ServerCapabilities"),
  },
  "GetFunctions.Response": { diagnostics: list(2, DIAGNOSTICS) },
  "ValidateProviderConfig.Request": { config: f(1, "DynamicValue") },
  "ValidateProviderConfig.Response": { diagnostics: list(2, DIAGNOSTICS) },
  "ValidateResourceConfig.Request": {
    typeName: f(1, "string"),
    config: f(2, "DynamicValue"),
    clientCapabilities: f(3, "ClientCapabilities"),
  },
  "ValidateResourceConfig.Response": { diagnostics: list(1, DIAGNOSTICS) },
  "ValidateDataResourceConfig.Request": { typeName: f(1, "string"), config: f(2, "DynamicValue") },
  "ValidateDataResourceConfig.Response": { diagnostics: list(1, DIAGNOSTICS) },
  "UpgradeResourceState.Request": {
    typeName: f(1, "string"),
    version: f(2, "int64"),
    rawState: f(3, "RawState"),
  },
  "UpgradeResourceState.Response": { upgradedState: f(1, "DynamicValue"), diagnostics: list(2, DIAGNOSTICS) },
  "ConfigureProvider.Request": {
    terraformVersion: f(1, "string"),
    config: f(2, "DynamicValue"),
    clientCapabilities: f(3, "ClientCapabilities"),
  },
  "ConfigureProvider.Response": { diagnostics: list(1, DIAGNOSTICS) },
  "ReadResource.Request": {
    typeName: f(1, "string"),
    currentState: f(2, "DynamicValue"),
    private: f(3, "bytes"),
    clientCapabilities: f(5, "ClientCapabilities"),
  },
  "ReadResource.Response": {
    newState: f(1, "DynamicValue"),
    diagnostics: list(2, DIAGNOSTICS),
    private: f(3, "bytes"),
  },
  "PlanResourceChange.Request": {
    typeName: f(1, "string"),
    priorState: f(2, "DynamicValue"),
    proposedNewState: f(3, "DynamicValue"),
    config: f(4, "DynamicValue"),
    priorPrivate: f(5, "bytes"),
    clientCapabilities: f(7, "ClientCapabilities"),
  },
  "PlanResourceChange.Response": {
    plannedState: f(1, "DynamicValue"),
    requiresReplace: list(2, "AttributePath"),
    plannedPrivate: f(3, "bytes"),
    diagnostics: list(4, DIAGNOSTICS),
  },
  "ApplyResourceChange.Request": {
    typeName: f(1, "string"),
    priorState: f(2, "DynamicValue"),
    plannedState: f(3, "DynamicValue"),
    config: f(4, "DynamicValue"),
    plannedPrivate: f(5, "bytes"),
  },
  "ApplyResourceChange.Response": {
    newState: f(1, "DynamicValue"),
    private: f(2, "bytes"),
    diagnostics: list(3, DIAGNOSTICS),
  },
  "ImportResourceState.Request": {
    typeName: f(1, "string"),
    id: f(2, "string"),
    clientCapabilities: f(3, "ClientCapabilities"),
  },
  "ImportResourceState.ImportedResource": {
    typeName: f(1, "string"),
    state: f(2, "DynamicValue"),
    private: f(3, "bytes"),
  },
  "ImportResourceState.Response": {
    importedResources: list(1, "ImportResourceState.ImportedResource"),
    diagnostics: list(2, DIAGNOSTICS),
  },
  "MoveResourceState.Response": { diagnostics: list(2, DIAGNOSTICS) },
  "ReadDataSource.Request": {
    typeName: f(1, "string"),
    config: f(2, "DynamicValue"),
    clientCapabilities: f(4, "ClientCapabilities"),
  },
  "ReadDataSource.Response": { state: f(1, "DynamicValue"), diagnostics: list(2, DIAGNOSTICS) },
  "StopProvider.Response": { error: f(1, "string") },

  // ---- grpc.health.v1
  "HealthCheck.Request": { service: f(1, "string") },
  "HealthCheck.Response": { status: f(1, "enum") }, // 1 SERVING
};

/** A unary method: gRPC path, and the registry names of its request and response. */
export interface Method {
  path: string;
  request: string;
  response: string;
}

function provider(name: string, request = `${name}.Request`, response = `${name}.Response`): Method {
  return { path: `/tfplugin6.Provider/${name}`, request, response };
}

/** tfplugin6.Provider: the calls Terraform makes (and a few it may make, answered simply). */
export const providerMethods = {
  GetMetadata: provider("GetMetadata", "Empty"),
  GetProviderSchema: provider("GetProviderSchema", "Empty"),
  ValidateProviderConfig: provider("ValidateProviderConfig"),
  ValidateResourceConfig: provider("ValidateResourceConfig"),
  ValidateDataResourceConfig: provider("ValidateDataResourceConfig"),
  UpgradeResourceState: provider("UpgradeResourceState"),
  ConfigureProvider: provider("ConfigureProvider"),
  ReadResource: provider("ReadResource"),
  PlanResourceChange: provider("PlanResourceChange"),
  ApplyResourceChange: provider("ApplyResourceChange"),
  ImportResourceState: provider("ImportResourceState"),
  MoveResourceState: provider("MoveResourceState", "Empty"),
  ReadDataSource: provider("ReadDataSource"),
  GetFunctions: provider("GetFunctions", "Empty"),
  StopProvider: provider("StopProvider", "Empty"),
} satisfies Record<string, Method>;

export type ProviderMethod = keyof typeof providerMethods;

/** go-plugin's controller: Terraform asks the plugin to exit with it. */
export const controllerShutdown: Method = {
  path: "/plugin.GRPCController/Shutdown",
  request: "Empty",
  response: "Empty",
};

export const healthCheck: Method = {
  path: "/grpc.health.v1.Health/Check",
  request: "HealthCheck.Request",
  response: "HealthCheck.Response",
};

export const Severity = { ERROR: 1, WARNING: 2 } as const;
export const StringKind = { PLAIN: 0, MARKDOWN: 1 } as const;
export const NestingMode = { SINGLE: 1, LIST: 2, SET: 3, MAP: 4 } as const;
