/**
 * landform SDK: the Codesphere managed-services API as zod schemas, a typed
 * client over undici, typed errors, and waiters.
 */

export * as catalog from "./catalog-keywords";
export {
  type ClientOptions,
  CodesphereClient,
  type ListEventsParams,
  type ListManagedServicesParams,
  type ListProvidersParams,
  ManagedServices,
  Providers,
} from "./client";
export {
  AbortError,
  APIError,
  type APIErrorInit,
  AuthenticationError,
  BadRequestError,
  CodesphereError,
  ConfigurationError,
  ConflictError,
  ConnectionError,
  type FieldIssue,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RequestValidationError,
  ResponseValidationError,
  TimeoutError,
  UnprocessableEntityError,
} from "./errors";
export type {
  BackupEntry,
  BackupsRequest,
  BackupsView,
  CreateManagedServiceRequest,
  CreateProviderRequest,
  EventPage,
  LogRecord,
  ManagedService,
  Plan,
  PlanSelection,
  Problem,
  Provider,
  ProviderScope,
  RecoverFrom,
  ReportedServiceState,
  ServiceState,
  ServiceStatus,
  UpdateManagedServiceRequest,
  UpdateProviderRequest,
  UpsertProviderRequest,
  Values,
} from "./schemas";
export * as schemas from "./schemas";
export { isKnownState, ServiceStates } from "./schemas";
export type { FetchLike, RequestOptions, SleepFn } from "./transport";
export {
  type ManagedServiceReader,
  type PollInfo,
  WaitError,
  type WaitOptions,
  type WaitTarget,
  WaitTimeoutError,
  waitForDeleted,
  waitForState,
} from "./waiters";
