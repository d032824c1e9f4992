/**
 * What each bundled provider's reference backend knows about its provider:
 * the catalog entry's schemas and capabilities (one backend serves every
 * version of a provider, and the versions share their schemas), how a request
 * becomes a spec, and what the service reports in `details`.
 *
 * Services of `postgres`, `postgresql` and `redis` run real servers, and
 * `s3` services a user and bucket on a real S3 server (./engines), where
 * their binaries are installed: their details name
 * 127.0.0.1, the server's own port and the version it runs. Every other
 * service is simulated: its host name is a placeholder (nothing listens on
 * it), its details say `simulated: true`, and its data set on the data
 * endpoint (`details.dataUrl`) stands in for the data a server would keep.
 */
import { type ApiProvider, bundledCatalog, type ServicePhase } from "../catalog";
import type { Spec, Values } from "./operations";
import {
  type Check,
  constraintOf,
  constraintViolation,
  type JsonSchema,
  schemaCompiler,
  updateViolations,
  withDefaults,
} from "./validation";

/** Placeholder domain of the host names the reference backends report. */
export const HOST_DOMAIN = "landform.internal";

export interface PlanInput {
  id?: number;
  parameters: Record<string, number>;
}

export interface CreateInput {
  plan: PlanInput;
  config: Values;
  secrets: Values;
  pause?: boolean;
  customSubdomain?: string;
}

export interface UpdateInput {
  plan?: PlanInput;
  config?: Values;
  secrets?: Values;
  pause?: boolean;
  /** null removes the custom subdomain. */
  customSubdomain?: string | null;
}

/** The outcome of turning a request into a spec: problems (422) or the new spec and secrets. */
export type Resolved = { problems: string[] } | { problems: []; spec: Spec; secrets: Values };

export interface DetailsInput {
  id: string;
  spec: Spec;
  phase: ServicePhase;
  ready: boolean;
  /** A simulated service's data set. */
  dataUrl?: string;
  /** An engine-backed service's server. */
  engine?: {
    port: number;
    serverVersion?: string;
    restarts: number;
    /** s3: the S3 server's endpoint and the service's bucket (null when its name was taken). */
    endpoint?: string;
    bucket?: string | null;
  };
}

type Connection = (host: string, config: Values) => Values;

/** Where the real servers listen: the backend's own machine. */
const ENGINE_HOST = "127.0.0.1";

/** Connection details of engine-backed services: the real port, never a secret (no password, and no user where the user is a secret). */
const engineConnections: Record<
  string,
  (port: number, config: Values, engine: NonNullable<DetailsInput["engine"]>) => Values
> = {
  postgres: (port, c) => ({
    hostname: ENGINE_HOST,
    port,
    dsn: `postgresql://${String(c.userName)}@${ENGINE_HOST}:${port}/${String(c.databaseName)}`,
  }),
  postgresql: (port) => ({
    hostname: ENGINE_HOST,
    port,
    dsn: `postgresql://${ENGINE_HOST}:${port}/postgres`,
  }),
  redis: (port) => ({ hostname: ENGINE_HOST, port, dsn: `redis://${ENGINE_HOST}:${port}` }),
  // The admin user and database, as the core catalog's dsn says; no password.
  ferretdb: (port) => ({
    hostname: ENGINE_HOST,
    port,
    dsn: `mongodb://postgres@${ENGINE_HOST}:${port}/admin`,
  }),
  // The core catalog's details are `url` and `userId`; endpoint, bucket and region are extensions.
  s3: (_port, c, e) => ({
    url: e.endpoint ?? "",
    userId: String(c.accessKey ?? ""),
    endpoint: e.endpoint ?? "",
    ...(e.bucket ? { bucket: e.bucket } : {}),
    region: S3_REGION,
  }),
};

/** The region the S3 engine's server signs for (versitygw's default). */
const S3_REGION = process.env.LANDFORM_S3_REGION || "us-east-1";

/** Provider-specific connection details; never built from secrets. */
const connections: Record<string, Connection> = {
  postgres: (host, c) => ({
    hostname: host,
    port: 5432,
    dsn: `postgresql://${String(c.userName)}@${host}:5432/${String(c.databaseName)}`,
  }),
  // The user name of this provider is a secret, so the dsn names none.
  postgresql: (host) => ({ hostname: host, port: 5432, dsn: `postgresql://${host}:5432/postgres` }),
  redis: (host) => ({ hostname: host, port: 6379, dsn: `redis://${host}:6379` }),
  s3: (host, c) => ({
    url: `https://${host}`,
    userId: String(c.accessKey ?? ""),
    endpoint: `https://${host}`,
    bucket: String(c.initialBucketName ?? ""),
    region: S3_REGION,
  }),
  // The core catalog's dsn names the superuser and the master database (no password).
  babelfish: (host) => ({
    hostname: host,
    port: 1433,
    pgPort: 5432,
    dsn: `mssql://postgres@${host}:1433/master`,
  }),
  ferretdb: (host) => ({ hostname: host, port: 27017, dsn: `mongodb://postgres@${host}:27017/admin` }),
};

export class ProviderProfile {
  readonly name: string;
  readonly canPause: boolean;
  readonly canBackup: boolean;
  readonly canRecoverToTime: boolean;
  /** The catalog versions of this provider (each has its own endpoint). */
  readonly versions: string[] = [];
  private readonly entry: ApiProvider;
  private readonly checkConfig: Check;
  private readonly checkSecrets: Check;
  /** planId -> parameter name -> check */
  private readonly planChecks = new Map<number, Map<string, Check>>();

  constructor(entry: ApiProvider, compile: (schema: JsonSchema) => Check) {
    this.entry = entry;
    this.name = entry.name;
    this.canPause = entry.capabilities?.pause === true;
    this.canBackup = entry.capabilities?.backups === true;
    this.canRecoverToTime = this.canBackup && entry.capabilities?.pointInTimeRecovery === true;
    this.checkConfig = compile(entry.configSchema);
    this.checkSecrets = compile(entry.secretsSchema);
    for (const plan of entry.plans) {
      const checks = new Map<string, Check>();
      for (const [name, p] of Object.entries(plan.parameters)) checks.set(name, compile(p.schema));
      this.planChecks.set(plan.id, checks);
    }
  }

  /**
   * A new service's spec. The spec keeps the values as requested (what the
   * backend reports once it has provisioned them); schema checks and the
   * connection details use them with the schema's defaults filled in.
   */
  create(input: CreateInput): Resolved {
    const problems: string[] = [];
    if (input.plan.id !== undefined && !this.plan(input.plan.id)) {
      problems.push(`plan.id: ${this.name} has no plan ${input.plan.id}`);
    }
    problems.push(...this.checkParameters(input.plan.id, input.plan.parameters));
    problems.push(
      ...this.checkConfig(this.effectiveConfig(input.config), "config"),
      ...this.checkSecrets(input.secrets, "secrets"),
    );
    if (problems.length > 0) return { problems };
    const spec: Spec = {
      ...(input.plan.id === undefined ? {} : { planId: input.plan.id }),
      parameters: input.plan.parameters,
      config: input.config,
      pause: input.pause ?? false,
      ...(input.customSubdomain === undefined ? {} : { customSubdomain: input.customSubdomain }),
    };
    return { problems: [], spec, secrets: input.secrets };
  }

  /**
   * Applies the sections of a PATCH to the current desired spec and secrets.
   * Each section is merged key by key into the stored one (a control plane
   * may send only what changed). On a switch to another plan, the parameters
   * the new plan fixes (read-only ones, such as cpu) take its values unless
   * the request names them. Update constraints compare effective values
   * (defaults filled in), so spelling out a default is not a change.
   */
  update(current: Spec, currentSecrets: Values, input: UpdateInput): Resolved {
    const problems: string[] = [];
    const planId = input.plan?.id ?? current.planId;
    let parameters = current.parameters;
    if (input.plan) {
      const plan = planId === undefined ? undefined : this.plan(planId);
      if (planId !== undefined && !plan) problems.push(`plan.id: ${this.name} has no plan ${planId}`);
      const fixed: Record<string, number> = {};
      if (plan && plan.id !== current.planId) {
        for (const [name, value] of Object.entries(
          this.parameterDefaults(plan.id, (s) => s.readOnly === true),
        )) {
          if (name in current.parameters) fixed[name] = value;
        }
      }
      parameters = { ...current.parameters, ...fixed, ...input.plan.parameters };
    }
    problems.push(...this.checkParameters(planId, parameters));
    for (const [name, value] of Object.entries(parameters)) {
      const field = `plan.parameters.${name}`;
      const v = constraintViolation(this.parameterConstraint(name), field, current.parameters[name], value);
      if (v) problems.push(v);
    }

    const config = { ...current.config, ...input.config };
    const effective = this.effectiveConfig(config);
    problems.push(
      ...this.checkConfig(effective, "config"),
      ...updateViolations(this.entry.configSchema, this.effectiveConfig(current.config), effective, "config"),
    );
    const secrets = { ...currentSecrets, ...input.secrets };
    problems.push(
      ...this.checkSecrets(secrets, "secrets"),
      ...updateViolations(this.entry.secretsSchema, currentSecrets, secrets, "secrets"),
    );
    if (problems.length > 0) return { problems };

    const customSubdomain =
      input.customSubdomain === undefined ? current.customSubdomain : (input.customSubdomain ?? undefined);
    const spec: Spec = {
      ...(planId === undefined ? {} : { planId }),
      parameters,
      config,
      pause: input.pause ?? current.pause,
      ...(customSubdomain === undefined ? {} : { customSubdomain }),
    };
    return { problems: [], spec, secrets };
  }

  details(d: DetailsInput): Values {
    const config = this.effectiveConfig(d.spec.config);
    const engineConnection = engineConnections[this.name];
    if (d.engine && engineConnection) {
      return {
        ...engineConnection(d.engine.port, config, d.engine),
        ready: d.ready,
        phase: d.phase,
        ...(d.engine.serverVersion ? { serverVersion: d.engine.serverVersion } : {}),
        restarts: d.engine.restarts,
      };
    }
    const host = `${d.spec.customSubdomain ?? d.id}.${this.name}.${HOST_DOMAIN}`;
    const connection = connections[this.name] ?? ((h: string) => ({ hostname: h }));
    return {
      ...connection(host, config),
      ready: d.ready,
      phase: d.phase,
      simulated: true,
      ...(d.dataUrl === undefined ? {} : { dataUrl: d.dataUrl }),
    };
  }

  /** The config with the schema's defaults filled in. */
  effective(config: Values): Values {
    return this.effectiveConfig(config);
  }

  private effectiveConfig(config: Values): Values {
    return withDefaults(this.entry.configSchema, config);
  }

  private plan(id: number) {
    return this.entry.plans.find((p) => p.id === id);
  }

  private parameterDefaults(planId: number, which: (schema: JsonSchema) => boolean): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, p] of Object.entries(this.plan(planId)?.parameters ?? {})) {
      if (typeof p.schema.default === "number" && which(p.schema)) out[name] = p.schema.default;
    }
    return out;
  }

  private parameterConstraint(name: string) {
    for (const plan of this.entry.plans) {
      const p = plan.parameters[name];
      if (p) return constraintOf(p.schema);
    }
    return undefined;
  }

  /**
   * With a known plan, each parameter must pass that plan's schema. Without
   * one (the contract only sends parameters), each must pass the schema of
   * some plan that has it.
   */
  private checkParameters(planId: number | undefined, parameters: Record<string, number>): string[] {
    const problems: string[] = [];
    const known = planId === undefined ? undefined : this.planChecks.get(planId);
    for (const [name, value] of Object.entries(parameters)) {
      const field = `plan.parameters.${name}`;
      if (planId !== undefined && !known) continue; // the unknown plan is reported once
      const checks = (known ? [known] : [...this.planChecks.values()])
        .map((planChecks) => planChecks.get(name))
        .filter((c): c is Check => c !== undefined);
      if (checks.length === 0) {
        problems.push(
          `${field}: is not a parameter of ${planId === undefined ? this.name : `plan ${planId}`}`,
        );
        continue;
      }
      const results = checks.map((check) => check(value, field));
      if (results.every((r) => r.length > 0)) problems.push(...results[0]!);
    }
    return problems;
  }
}

let profiles: ReadonlyMap<string, ProviderProfile> | undefined;

/** One profile per bundled provider name; built once, as the bundled catalog never changes. */
export function referenceProfiles(): ReadonlyMap<string, ProviderProfile> {
  if (profiles) return profiles;
  const compile = schemaCompiler();
  const built = new Map<string, ProviderProfile>();
  for (const entry of bundledCatalog("", "")) {
    if (!built.has(entry.name)) built.set(entry.name, new ProviderProfile(entry, compile));
    built.get(entry.name)!.versions.push(entry.version);
  }
  profiles = built;
  return built;
}
