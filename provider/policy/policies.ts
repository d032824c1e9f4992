/**
 * The managed-service policies: plain objects whose `validateResource`
 * functions can be called directly (unit tests, other packs), each backed by
 * a pure `check*` function from a resource's properties and the policy's
 * settings to violation messages. Nothing here imports @pulumi/policy at run
 * time; `./index` builds the pack.
 *
 * The properties are the resource's inputs after the provider's check, as
 * the engine hands them to every analyzer: the catalog's defaults filled in
 * (plan parameters, config), secret fields unwrapped. Each message starts
 * with the field it is about (`backups.deleteRetentionDays: ...`). A field
 * whose value is not known yet (a preview) is left unchecked; `pulumi up`
 * checks it again once it is known.
 */
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import {
  hasCredentialInUrl,
  isCredentialKey,
  isUnknown,
  matchesStackPattern,
  objectOf,
  plainProps,
  stackOfUrn,
} from "./values";

/** The type token of `ManagedService` (provider/pulumi): the only resources these policies look at. */
export const MANAGED_SERVICE_TYPE = "pulumi-nodejs:dynamic/codesphere:ManagedService";

type Props = Record<string, unknown>;

/** A policy of this pack: a resource validation policy with its settings' defaults. */
export interface ManagedServicePolicy<C extends object> extends ResourceValidationPolicy {
  enforcementLevel: EnforcementLevel;
  configSchema: PolicyConfigSchema;
  /** The settings the policy runs with when the pack's config leaves them out. */
  defaults: Readonly<C>;
  /** The messages for one resource's properties under these settings (empty: compliant). */
  check(props: Props, settings: C, resource: { urn: string }): string[];
  /** The validation the policy engine calls; skips resources that are not ManagedServices. */
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => void;
}

/** The pack's settings for a policy over its defaults (absent and null settings keep the default). */
export function settingsOf<C extends object>(defaults: Readonly<C>, given: object | undefined): C {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given ?? {})) {
    if (value !== undefined && value !== null && key !== "enforcementLevel") out[key] = value;
  }
  return out as C;
}

function definePolicy<C extends object>(
  policy: Omit<ManagedServicePolicy<C>, "validateResource">,
): ManagedServicePolicy<C> {
  const validateResource = (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
    if (args.type !== MANAGED_SERVICE_TYPE) return;
    const settings = settingsOf(policy.defaults, args.getConfig<Partial<C>>());
    for (const message of policy.check(plainProps(args.props), settings, { urn: args.urn })) {
      reportViolation(message);
    }
  };
  return { ...policy, validateResource };
}

// ---------------------------------------------------------------- database backups

export interface DatabaseBackupsSettings {
  /** Catalog provider names that are databases (compared case-insensitively). */
  databaseProviders: string[];
  /** Days a deleted database and its backups must be kept at least. */
  minDeleteRetentionDays: number;
  /** Hours between backups at most. */
  maxIntervalH: number;
}

export const DATABASE_BACKUPS_DEFAULTS: Readonly<DatabaseBackupsSettings> = Object.freeze({
  databaseProviders: ["postgres", "postgresql", "babelfish"],
  minDeleteRetentionDays: 7,
  maxIntervalH: 24,
});

export function checkDatabaseBackups(props: Props, settings: DatabaseBackupsSettings): string[] {
  const provider = objectOf(props.provider)?.name;
  if (typeof provider !== "string" || isUnknown(provider)) return [];
  const databases = settings.databaseProviders.map((n) => n.toLowerCase());
  if (!databases.includes(provider.toLowerCase())) return [];

  // A Landscape member inherits the landscape's backups; the provider's check copies them
  // into `backups`, but not when it could not reach the catalog (an unknown connection).
  const raw = props.backups !== undefined ? props.backups : objectOf(props.landscape)?.backups;
  if (isUnknown(raw)) return [];
  const backups = objectOf(raw);
  if (!backups || backups.enabled === false) {
    return [
      `backups: ${provider} is a database and must have backups enabled; set backups: ` +
        `{ intervalH, deleteRetentionDays, config, secrets } (at most ${settings.maxIntervalH} hours apart, ` +
        `kept at least ${settings.minDeleteRetentionDays} days)`,
    ];
  }
  if (isUnknown(backups.enabled)) return [];

  const messages: string[] = [];
  const retention = backups.deleteRetentionDays;
  if (!isUnknown(retention)) {
    if (typeof retention !== "number") {
      messages.push(
        `backups.deleteRetentionDays: is not set; a deleted ${provider} database and its backups must be ` +
          `kept at least ${settings.minDeleteRetentionDays} days`,
      );
    } else if (retention < settings.minDeleteRetentionDays) {
      messages.push(
        `backups.deleteRetentionDays: ${retention} is below the minimum of ${settings.minDeleteRetentionDays} ` +
          `days a deleted ${provider} database and its backups must be kept (policy setting minDeleteRetentionDays)`,
      );
    }
  }
  const interval = backups.intervalH;
  if (!isUnknown(interval)) {
    if (typeof interval !== "number") {
      messages.push(
        `backups.intervalH: is not set; a ${provider} database must be backed up at least every ` +
          `${settings.maxIntervalH} hours`,
      );
    } else if (interval > settings.maxIntervalH) {
      messages.push(
        `backups.intervalH: ${interval} hours between backups is more than the maximum of ` +
          `${settings.maxIntervalH} for a ${provider} database (policy setting maxIntervalH)`,
      );
    }
  }
  return messages;
}

export const databaseBackupsPolicy = definePolicy<DatabaseBackupsSettings>({
  name: "codesphere-database-backups",
  displayName: "Databases are backed up",
  description:
    "Managed databases must have backups enabled, taken at least every maxIntervalH hours and kept at " +
    "least minDeleteRetentionDays days after the service is deleted.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Add `backups: { intervalH, deleteRetentionDays, config, secrets }` to the ManagedService (or to its " +
    "Landscape) with an interval and a retention within the limits.",
  configSchema: {
    properties: {
      databaseProviders: {
        type: "array",
        items: { type: "string", minLength: 1 },
        default: [...DATABASE_BACKUPS_DEFAULTS.databaseProviders],
        description: "Catalog provider names that are databases (case-insensitive).",
      },
      minDeleteRetentionDays: {
        type: "integer",
        minimum: 1,
        maximum: 365,
        default: DATABASE_BACKUPS_DEFAULTS.minDeleteRetentionDays,
        description: "Least backups.deleteRetentionDays allowed.",
      },
      maxIntervalH: {
        type: "integer",
        minimum: 1,
        maximum: 730,
        default: DATABASE_BACKUPS_DEFAULTS.maxIntervalH,
        description: "Most backups.intervalH (hours between backups) allowed.",
      },
    },
  },
  defaults: DATABASE_BACKUPS_DEFAULTS,
  check: checkDatabaseBackups,
});

// ---------------------------------------------------------------- no secrets in config

export interface SecretsInConfigSettings {
  /** Keys (`apiKeyHeader`) or paths (`config.apiKeyHeader`) that are not credentials. */
  allowedKeys: string[];
  /** More key patterns that mark a credential: case-insensitive regular expressions. */
  extraKeyPatterns: string[];
}

export const SECRETS_IN_CONFIG_DEFAULTS: Readonly<SecretsInConfigSettings> = Object.freeze({
  allowedKeys: [],
  extraKeyPatterns: [],
});

/** The plain configuration maps of a service (sent to and returned by the API in clear). */
const CONFIG_FIELDS = [
  (p: Props) => ["config", p.config] as const,
  (p: Props) => ["backups.config", objectOf(p.backups)?.config] as const,
  (p: Props) => ["recoverFrom.config", objectOf(p.recoverFrom)?.config] as const,
  (p: Props) => ["landscape.backups.config", objectOf(objectOf(p.landscape)?.backups)?.config] as const,
];

export function checkSecretsInConfig(props: Props, settings: SecretsInConfigSettings): string[] {
  const patterns = settings.extraKeyPatterns.map((source) => {
    try {
      return new RegExp(source, "i");
    } catch (error) {
      throw new Error(
        `policy codesphere-no-secrets-in-config: extraKeyPatterns entry ${JSON.stringify(source)} is not a ` +
          `regular expression: ${(error as Error).message}`,
      );
    }
  });
  const allowed = new Set(settings.allowedKeys);
  const messages: string[] = [];
  // `field` is the config map being walked; its secrets live beside it (`backups.config` -> `backups.secrets`).
  const visit = (value: unknown, path: string, field: string): void => {
    if (isUnknown(value)) return;
    const secretsField = `\`${field.replace(/config$/, "secrets")}\``;
    if (typeof value === "string") {
      if (hasCredentialInUrl(value)) {
        messages.push(
          `${path}: holds a URL with a password in it; config is stored and returned in plain text, so pass ` +
            `the password in ${secretsField} instead`,
        );
      }
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) visit(v, `${path}[${i}]`, field);
      return;
    }
    const object = objectOf(value);
    if (!object) return;
    for (const [key, v] of Object.entries(object)) {
      const keyPath = `${path}.${key}`;
      if (allowed.has(key) || allowed.has(keyPath)) continue;
      const credentialValue = (typeof v === "string" && v !== "") || isUnknown(v);
      if (credentialValue && isCredentialKey(key, patterns)) {
        messages.push(
          `${keyPath}: looks like a credential${isUnknown(v) ? " (its value is not known yet)" : ""}; config is ` +
            `stored and returned in plain text, so put it in ${secretsField} (encrypted, never output). ` +
            `If it is not a credential, add "${key}" to the policy setting allowedKeys`,
        );
      } else {
        visit(v, keyPath, field);
      }
    }
  };
  for (const field of CONFIG_FIELDS) {
    const [path, value] = field(props);
    visit(value, path, path);
  }
  return messages;
}

export const secretsInConfigPolicy = definePolicy<SecretsInConfigSettings>({
  name: "codesphere-no-secrets-in-config",
  displayName: "No credentials in plain config",
  description:
    "Credentials (keys named like password, secret, token or key with a string value, and URLs with a " +
    "password) must be given as secrets, never in plain config, which the API stores and returns in clear.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Move the value from `config` to `secrets` (from `backups.config` to `backups.secrets`), for example " +
    '`secrets: { userPassword: cfg.requireSecret("dbPassword") }`.',
  configSchema: {
    properties: {
      allowedKeys: {
        type: "array",
        items: { type: "string", minLength: 1 },
        default: [...SECRETS_IN_CONFIG_DEFAULTS.allowedKeys],
        description: "Keys (`apiKeyHeader`) or paths (`config.apiKeyHeader`) that are not credentials.",
      },
      extraKeyPatterns: {
        type: "array",
        items: { type: "string", minLength: 1 },
        default: [...SECRETS_IN_CONFIG_DEFAULTS.extraKeyPatterns],
        description: "More case-insensitive regular expressions for keys that hold credentials (`^dsn$`).",
      },
    },
  },
  defaults: SECRETS_IN_CONFIG_DEFAULTS,
  check: checkSecretsInConfig,
});

// ---------------------------------------------------------------- plan limits

export interface PlanLimitsSettings {
  /**
   * Largest value of each plan parameter, by provider name; `*` applies to
   * every provider (a provider's own entry wins). Units are the catalog's:
   * `postgres` and `babelfish` storage in MiB, `postgresql` storage in GB.
   */
  maxPlanParameters: Record<string, Record<string, number>>;
}

export const PLAN_LIMITS_DEFAULTS: Readonly<PlanLimitsSettings> = Object.freeze({
  maxPlanParameters: {
    postgres: { storage: 20480 },
    babelfish: { storage: 20480 },
    postgresql: { storage: 20 },
  },
});

export function checkPlanLimits(props: Props, settings: PlanLimitsSettings): string[] {
  const rawName = objectOf(props.provider)?.name;
  const provider = typeof rawName === "string" && !isUnknown(rawName) ? rawName : undefined;
  const limits: Record<string, number> = { ...(settings.maxPlanParameters["*"] ?? {}) };
  if (provider !== undefined) {
    const own = Object.entries(settings.maxPlanParameters).find(
      ([name]) => name.toLowerCase() === provider.toLowerCase(),
    );
    Object.assign(limits, own?.[1] ?? {});
  }
  const parameters = objectOf(objectOf(props.plan)?.parameters);
  if (!parameters) return [];
  const messages: string[] = [];
  for (const [parameter, max] of Object.entries(limits)) {
    const value = parameters[parameter];
    if (typeof value === "number" && value > max) {
      messages.push(
        `plan.parameters.${parameter}: ${value} is above the limit of ${max} for ` +
          `${provider ?? "any provider"} (policy setting maxPlanParameters)`,
      );
    }
  }
  return messages;
}

export const planLimitsPolicy = definePolicy<PlanLimitsSettings>({
  name: "codesphere-plan-limits",
  displayName: "Plan parameters within limits",
  description:
    "Plan parameters (storage, ...) must stay within the limits set per provider in maxPlanParameters.",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps:
    "Choose a smaller plan parameter, or raise the limit in the pack's config " +
    '(`{ "codesphere-plan-limits": { "maxPlanParameters": { "postgres": { "storage": 51200 } } } }`).',
  configSchema: {
    properties: {
      maxPlanParameters: {
        type: "object",
        additionalProperties: { type: "object", additionalProperties: { type: "number" } },
        default: PLAN_LIMITS_DEFAULTS.maxPlanParameters,
        description:
          "Largest value per provider and plan parameter, e.g. { postgres: { storage: 20480 } }; " +
          "`*` applies to every provider. Units as in the catalog.",
      },
    },
  },
  defaults: PLAN_LIMITS_DEFAULTS,
  check: checkPlanLimits,
});

// ---------------------------------------------------------------- no pause in production

export interface PauseInProductionSettings {
  /** Stack name patterns (`*`, `?`; `project/stack` with a slash) of production stacks. */
  productionStacks: string[];
}

export const PAUSE_IN_PRODUCTION_DEFAULTS: Readonly<PauseInProductionSettings> = Object.freeze({
  productionStacks: ["prod", "production", "prod-*", "*-prod", "production-*", "*-production"],
});

export function checkPauseInProduction(
  props: Props,
  settings: PauseInProductionSettings,
  resource: { urn: string },
): string[] {
  if (props.pause !== true) return [];
  const where = stackOfUrn(resource.urn);
  if (!where) return [];
  const pattern = settings.productionStacks.find((p) => matchesStackPattern(p, where.stack, where.project));
  if (pattern === undefined) return [];
  return [
    `pause: true pauses this service in stack ${where.stack}, a production stack (it matches ` +
      `"${pattern}" in the policy setting productionStacks); production services must keep running`,
  ];
}

export const pauseInProductionPolicy = definePolicy<PauseInProductionSettings>({
  name: "codesphere-no-pause-in-production",
  displayName: "Production services keep running",
  description: "Managed services in production stacks (productionStacks) must not be paused.",
  enforcementLevel: "advisory",
  severity: "medium",
  remediationSteps: "Set `pause: false` (or leave it out) in production stacks.",
  configSchema: {
    properties: {
      productionStacks: {
        type: "array",
        items: { type: "string", minLength: 1 },
        default: [...PAUSE_IN_PRODUCTION_DEFAULTS.productionStacks],
        description:
          "Patterns of production stack names: `*` any characters, `?` one; with a `/`, matched against " +
          "PROJECT/STACK.",
      },
    },
  },
  defaults: PAUSE_IN_PRODUCTION_DEFAULTS,
  check: checkPauseInProduction,
});

// ---------------------------------------------------------------- all of them

/** Every policy of the pack, in the order they report. */
export const managedServicePolicies: ResourceValidationPolicy[] = [
  databaseBackupsPolicy,
  secretsInConfigPolicy,
  planLimitsPolicy,
  pauseInProductionPolicy,
];
