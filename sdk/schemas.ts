/**
 * The Codesphere public API for managed services, as zod schemas.
 *
 * One source of truth: the control plane validates requests with these, the
 * client parses responses with them, and the OpenAPI document the control
 * plane serves is generated from them. `sdk/contract.test.ts` holds each one
 * against the published document in ../shared/contract.
 *
 * Requests are strict (an unknown key is an error that names it, so a typo
 * such as `pasue` never passes silently); responses are loose, so a newer
 * platform that adds fields, states or enum values does not break older
 * clients: an unknown state or enum value reads as the string it is, typed
 * outside the known union (see ./tolerant.ts).
 *
 * Deliberate differences from the published document are marked EXTENSION or
 * DOCS; each is listed in `contractDeviations` and checked by the contract test.
 */
import { z } from "zod";
import { type Newer, tolerant, tolerantEnum } from "./tolerant";

// ---------------------------------------------------------------- primitives

export const Uuid = z.uuid().describe("UUID");
export const DateTime = z.iso.datetime({ offset: true });
export const ProviderName = z
  .string()
  .regex(/^[a-z0-9-_]+$/, "must be lowercase letters, digits, '-' or '_'")
  .meta({ title: "ProviderName" });
export const ProviderSchemaVersion = z
  .string()
  .regex(/^v[0-9][0-9a-z]*$/, "must look like v1, v15 or v2beta")
  .meta({ title: "ProviderSchemaVersion" });
/**
 * DOCS: the published guide creates `{name: "postgresql", version: "15"}`, so
 * requests accept a schema version with or without the leading `v`; the
 * platform answers with the canonical `v15`.
 */
export const RequestedSchemaVersion = z
  .string()
  .regex(/^v?[0-9][0-9a-z]*$/, "must look like v15 or 15")
  .meta({ title: "ProviderSchemaVersion" });
export const SemVer = z.string().meta({ title: "SemVer", description: "A semantic version number" });
export const ServiceName = z
  .string()
  .regex(
    /^(?!\s)[a-zA-Z0-9\-_\s]{0,126}[a-zA-Z0-9\-_]$/,
    "must be 1 to 127 letters, digits, '-', '_' or inner spaces",
  )
  .meta({ title: "alphanumeric with spaces in between (max length 127)" });
export const TeamId = z.int().min(0);
/** A JSON Schema document (the catalog's config, secrets, details and plan parameter schemas). */
export const JsonSchema = z.record(z.string(), z.unknown()).describe("JSON Schema");
/** Free-form values: config, secrets, backup store settings. */
export const Values = z.record(z.string(), z.unknown());
export type Values = z.infer<typeof Values>;

// ---------------------------------------------------------------- shared parts

export const PlanSelection = z.strictObject({
  id: z.int().min(0),
  parameters: z.record(z.string(), z.int()),
});
export type PlanSelection = z.infer<typeof PlanSelection>;

export const BackupEntry = z.object({
  id: Uuid,
  scheduledAt: DateTime,
  initiatedAt: DateTime.optional(),
  confirmedAt: DateTime.optional(),
});
export type BackupEntry = z.infer<typeof BackupEntry>;

const DeleteRetentionDays = z.int().min(1).max(365);
const IntervalH = z.int().min(1).max(730);

export const BackupsEnabledRequest = z.strictObject({
  enabled: z.literal(true),
  deleteRetentionDays: DeleteRetentionDays,
  intervalH: IntervalH,
  config: Values,
  secrets: Values,
});
export const BackupsDisabledRequest = z.strictObject({ enabled: z.literal(false) });
export const BackupsRequest = z.union([BackupsEnabledRequest, BackupsDisabledRequest]);
export type BackupsRequest = z.infer<typeof BackupsRequest>;

export const RecoverFromBackup = z.strictObject({ id: Uuid, config: Values, secrets: Values });
export const RecoverToPointInTime = z.strictObject({
  msId: Uuid,
  time: DateTime,
  config: Values,
  secrets: Values,
});
export const RecoverFrom = z.union([RecoverFromBackup, RecoverToPointInTime]);
export type RecoverFrom = z.infer<typeof RecoverFrom>;

/** The log-record shape of `recentEvents` (OpenTelemetry-like). */
export const LogRecord = z.object({
  eventName: z.string(),
  timestamp: DateTime,
  observedTimestamp: DateTime,
  severityNumber: z.int().min(0),
  body: z.string(),
  resource: z.string(),
  attributes: z.record(z.string(), z.string()),
});
export type LogRecord = z.infer<typeof LogRecord>;

// ---------------------------------------------------------------- status

export const ServiceStates = [
  "creating",
  "updating",
  "deleted",
  "deleting",
  "pausing",
  "unpausing",
  "paused",
  "synchronized",
  "unknown",
  "invalid provider",
] as const;
/** A state this SDK knows (what the reference control plane itself ever reports). */
export type ServiceState = (typeof ServiceStates)[number];
/** A state as a platform reports it: a known one, or one added after this SDK was built. */
export type ReportedServiceState = ServiceState | Newer;

export function isKnownState(state: string): state is ServiceState {
  return (ServiceStates as readonly string[]).includes(state);
}

export const KnownServiceStatus = z.discriminatedUnion("state", [
  z.object({ state: z.literal("creating") }),
  z.object({ state: z.literal("updating") }),
  z.object({ state: z.literal("deleted"), deletedAt: DateTime }),
  z.object({ state: z.literal("deleting"), deletedAt: DateTime }),
  z.object({ state: z.literal("pausing") }),
  z.object({ state: z.literal("unpausing") }),
  z.object({ state: z.literal("paused") }),
  z.object({ state: z.literal("synchronized"), detailsRef: z.string() }),
  z.object({ state: z.literal("unknown") }),
  z.object({ state: z.literal("invalid provider") }),
]);
export type KnownServiceStatus = z.infer<typeof KnownServiceStatus>;
/** The status of a state this SDK does not know, with whatever fields came with it. */
export interface NewerServiceStatus {
  state: Newer;
  [field: string]: unknown;
}
export type ServiceStatus = KnownServiceStatus | NewerServiceStatus;
/** Reads a known status strictly and a newer state as itself (never as a parse failure). */
export const ServiceStatus: z.ZodType<ServiceStatus, z.input<typeof KnownServiceStatus>> = tolerant(
  KnownServiceStatus,
  (value): value is NewerServiceStatus =>
    value !== null &&
    typeof value === "object" &&
    typeof (value as { state?: unknown }).state === "string" &&
    !isKnownState((value as { state: string }).state),
);

// ---------------------------------------------------------------- managed services

export const CreateManagedServiceRequest = z.strictObject({
  teamId: TeamId,
  name: ServiceName,
  provider: z.strictObject({
    name: ProviderName,
    version: RequestedSchemaVersion.optional(),
    schemaVersion: RequestedSchemaVersion.optional(),
  }),
  plan: PlanSelection,
  config: Values,
  secrets: Values,
  backups: BackupsRequest.optional(),
  recoverFrom: RecoverFrom.optional(),
  version: SemVer.optional(),
});
export type CreateManagedServiceRequest = z.infer<typeof CreateManagedServiceRequest>;

export const UpdateBackupsRequest = z.strictObject({
  enabled: z.boolean().optional(),
  deleteRetentionDays: DeleteRetentionDays.optional(),
  intervalH: IntervalH.optional(),
  config: Values.optional(),
  secrets: Values.optional(),
});

export const UpdateManagedServiceRequest = z.strictObject({
  backups: UpdateBackupsRequest.optional(),
  config: Values.optional(),
  secrets: Values.optional(),
  // The document leaves the update's name unconstrained; the rule of create applies.
  name: ServiceName.optional(),
  pause: z.boolean().optional(),
  plan: PlanSelection.optional(),
  version: SemVer.optional(),
});
export type UpdateManagedServiceRequest = z.infer<typeof UpdateManagedServiceRequest>;

/** A non-negative integer as it arrives in a query string. */
const QueryInt = z
  .string()
  .regex(/^[0-9]+$/, "must be a non-negative integer")
  .transform(Number)
  .pipe(TeamId);

export const ListManagedServicesQuery = z.strictObject({
  team: QueryInt,
  // Required by the document; a missing value means false.
  includeDeleted: z
    .enum(["true", "false"], { error: 'must be "true" or "false"' })
    .default("false")
    .transform((v) => v === "true"),
});

/** EXTENSION: paging of `GET /managed-services/{id}/events`. */
export const ListEventsQuery = z.strictObject({
  /** Opaque: pass back the nextCursor of the previous page. */
  cursor: z.string().min(1).optional(),
  limit: z
    .string()
    .regex(/^[0-9]+$/, "must be an integer")
    .transform(Number)
    .pipe(z.int().min(1).max(1000))
    .optional(),
});

const BackupsEnabledView = z.object({
  enabled: z.literal(true),
  deleteRetentionDays: DeleteRetentionDays,
  intervalH: IntervalH,
  entries: z.array(BackupEntry),
  config: Values,
});
const BackupsDisabledView = z.object({ enabled: z.literal(false), entries: z.array(BackupEntry) });
export const BackupsView = z.union([BackupsEnabledView, BackupsDisabledView]);
export type BackupsView = z.infer<typeof BackupsView>;

/**
 * Connection details the backend reports (hostname, port, dsn, ready, ...),
 * shaped by the provider's detailsSchema. EXTENSION: the published API only
 * returns `status.detailsRef`; the reference control plane also returns the
 * non-secret details inline so IaC outputs can expose them.
 */
export const ServiceDetails = z.record(z.string(), z.unknown());

export const ManagedService = z.object({
  id: Uuid,
  provider: z.object({
    name: ProviderName,
    version: ProviderSchemaVersion,
    schemaVersion: ProviderSchemaVersion,
  }),
  name: ServiceName,
  backups: BackupsView,
  pause: z.boolean(),
  plan: z.object({ id: z.int().min(0), parameters: z.record(z.string(), z.int()) }),
  createdAt: DateTime,
  config: Values,
  recentEvents: z.array(LogRecord).optional(),
  status: ServiceStatus,
  version: SemVer.optional(),
  details: ServiceDetails.optional(),
});
export type ManagedService = z.infer<typeof ManagedService>;

export const ManagedServiceList = z.array(ManagedService);

/** EXTENSION: `GET /managed-services/{id}/events`, the full event log, paged. */
export const EventPage = z.object({
  events: z.array(LogRecord),
  nextCursor: z.string().optional(),
});
export type EventPage = z.infer<typeof EventPage>;

// ---------------------------------------------------------------- providers (catalog)

const PRICING_UNITS = [
  "cpu-tenths",
  "free",
  "network-bandwidth-mbps",
  "ram-mib",
  "replicas",
  "storage-mib",
] as const;
export const PricedAs = z.enum(PRICING_UNITS);
export const PlanParameter = z.object({ pricedAs: PricedAs.optional(), schema: JsonSchema });
export const Plan = z.object({
  id: z.int().min(0),
  name: z.string(),
  description: z.string(),
  parameters: z.record(z.string(), PlanParameter),
});
/** A plan as the catalog reports it: a pricing unit added later reads as its name. */
const ReportedPlan = Plan.extend({
  parameters: z.record(
    z.string(),
    PlanParameter.extend({ pricedAs: tolerantEnum(PRICING_UNITS).optional() }),
  ),
});
export type Plan = z.infer<typeof ReportedPlan>;

export const Capabilities = z.object({
  pause: z.boolean().optional(),
  backups: z.boolean().optional(),
  pointInTimeRecovery: z.boolean().optional(),
});
export const BackupStoreSchemas = z.object({ configSchema: JsonSchema, secretsSchema: JsonSchema });
export const ProviderVersions = z.record(
  SemVer,
  z.object({
    gitRef: z.string(),
    ciProfile: z.string(),
    appVersion: z.string().optional(),
    description: z.string().optional(),
  }),
);

export const LandscapeBackend = z.object({
  landscape: z.object({ gitUrl: z.string(), ciProfile: z.string().optional() }),
});
export const ApiBackend = z.object({
  api: z.object({ endpoint: z.string(), secret: z.string().optional() }),
});

/** What describes a provider, in catalog entries and in the bodies that define one. */
const providerDescription = {
  author: z.string(),
  backups: BackupStoreSchemas.optional(),
  capabilities: Capabilities.optional(),
  category: z.string(),
  description: z.string(),
  displayName: z.string(),
  iconUrl: z.string(),
  configSchema: JsonSchema,
  detailsSchema: JsonSchema,
  secretsSchema: JsonSchema,
  plans: z.array(Plan),
  versions: ProviderVersions.optional(),
};

const catalogEntryFields = {
  name: ProviderName,
  version: ProviderSchemaVersion,
  schemaVersion: ProviderSchemaVersion,
  scope: tolerantEnum(["global", "team"]).optional(),
  ...providerDescription,
  plans: z.array(ReportedPlan),
};

/** A catalog entry whose backend is a landscape (Codesphere deploys it from git). */
export const LandscapeProvider = z.object({
  ...catalogEntryFields,
  backend: LandscapeBackend,
  createdAt: DateTime.optional(),
});
/** A catalog entry whose backend is a REST API speaking the provider backend contract. */
export const ApiProvider = z.object({ ...catalogEntryFields, backend: ApiBackend });
export const Provider = z.union([LandscapeProvider, ApiProvider]);
export type Provider = z.infer<typeof Provider>;
export const ProviderList = z.array(Provider);

export const ProviderScope = z.union([
  z.strictObject({ type: z.literal("global") }),
  z.strictObject({ type: z.literal("team"), teamIds: z.array(TeamId) }),
]);
export type ProviderScope = z.infer<typeof ProviderScope>;

const definitionFields = { ...providerDescription, scope: ProviderScope.optional() };
const ProviderBackendRequest = z.union([
  z.strictObject({ landscape: LandscapeBackend.shape.landscape }),
  ApiBackend.strict(),
]);

/**
 * A provider defined in full. EXTENSION: besides the document's landscape
 * backend, `backend: {api: {endpoint, secret}}` registers a REST backend that
 * speaks the provider backend contract (what the reference control plane runs).
 */
export const ProviderDefinition = z.strictObject({
  ...definitionFields,
  name: ProviderName,
  version: ProviderSchemaVersion.optional(),
  schemaVersion: ProviderSchemaVersion.optional(),
  backend: ProviderBackendRequest,
});
/** A provider defined by a git repository holding its definition. */
export const ProviderFromGit = z.strictObject({
  gitUrl: z.string(),
  gitRef: z.string().optional(),
  scope: ProviderScope.optional(),
});
export const CreateProviderRequest = z.union([ProviderDefinition, ProviderFromGit]);
export type CreateProviderRequest = z.infer<typeof CreateProviderRequest>;
export const UpsertProviderRequest = CreateProviderRequest;
export type UpsertProviderRequest = CreateProviderRequest;

export const UpdateProviderRequest = z
  .strictObject(providerDescription)
  .partial()
  .extend({ backend: ProviderBackendRequest.optional(), scope: ProviderScope.optional() });
export type UpdateProviderRequest = z.infer<typeof UpdateProviderRequest>;

export const ListProvidersQuery = z.strictObject({ teamId: QueryInt.optional() });

// ---------------------------------------------------------------- errors and contract notes

export { contractDeviations, contractExtensions, Problem } from "./contract-notes";
