/**
 * `ManagedService`: one Codesphere managed service as a Pulumi resource, with
 * the API's inputs in camelCase. Its type token is
 * `pulumi-nodejs:dynamic/codesphere:ManagedService`, so policies and
 * `pulumi stack` output tell it apart from other dynamic resources.
 *
 *   const db = new ManagedService("orders-db", {
 *     provider: { name: "postgres", version: "v1" },
 *     plan: { id: 1, parameters: { storage: 10240 } },
 *     config: { version: "16.6" },
 *     secrets: { userPassword: cfg.requireSecret("dbPassword") },
 *   });
 *   export const dsn = db.dsn; // a secret
 */
import * as pulumi from "@pulumi/pulumi";
import type * as schemas from "../../sdk/schemas";
import type { Timeouts } from "../core/lifecycle";
import type { ServiceInputs } from "./implementation";
import { PROVIDER_TEXT } from "./provider";

type Values = Record<string, pulumi.Input<unknown>>;

/** Where the Codesphere API is. Default: stack config `codesphere:*`, then CS_API, CS_TOKEN, CS_TEAM_ID. */
export interface ConnectionArgs {
  apiUrl?: pulumi.Input<string>;
  /** Kept encrypted in state. A token from CS_TOKEN is read at run time and never stored. */
  token?: pulumi.Input<string>;
}

export interface BackupsArgs {
  /** Default true when the block is given. */
  enabled?: pulumi.Input<boolean>;
  /** Hours between backups (1 to 730). */
  intervalH?: pulumi.Input<number>;
  /** Days a deleted service and its backups are kept (1 to 365). */
  deleteRetentionDays?: pulumi.Input<number>;
  /** The backup store's settings (the catalog's backups.configSchema), e.g. endpointUrl, destinationPath. */
  config?: pulumi.Input<Values>;
  /** The backup store's credentials; always stored encrypted. */
  secrets?: pulumi.Input<Values>;
}

export type RecoverFromArgs =
  | { id: pulumi.Input<string>; config: pulumi.Input<Values>; secrets: pulumi.Input<Values> }
  | {
      msId: pulumi.Input<string>;
      time: pulumi.Input<string>;
      config: pulumi.Input<Values>;
      secrets: pulumi.Input<Values>;
    };

export interface ManagedServiceArgs {
  /** Owning team; changing it replaces the service. Default: codesphere:teamId, then CS_TEAM_ID. */
  teamId?: pulumi.Input<number>;
  /** Service name, unique in the team; updates in place. Default: the resource name. */
  name?: pulumi.Input<string>;
  /** Catalog provider and schema version (`v15` or `15`); changing either replaces the service. */
  provider: pulumi.Input<{ name: pulumi.Input<string>; version: pulumi.Input<string> }>;
  /** Plan and its parameters; omitted parameters take the plan's defaults. Updates in place. */
  plan: pulumi.Input<{
    id: pulumi.Input<number>;
    parameters?: pulumi.Input<Record<string, pulumi.Input<number>>>;
  }>;
  /** Provider configuration; keys the catalog marks immutable replace the service when changed. */
  config?: pulumi.Input<Values>;
  /** Provider secrets; stored encrypted, compared by fingerprint, never output. */
  secrets?: pulumi.Input<Values>;
  /** Automated backups (providers with the backups capability). */
  backups?: pulumi.Input<BackupsArgs>;
  /** true pauses the service, false resumes it; updates in place. */
  pause?: pulumi.Input<boolean>;
  /** Create from a backup or a point in time; setting or changing it replaces the service. */
  recoverFrom?: pulumi.Input<RecoverFromArgs>;
  /**
   * Take over an existing service of the same name in the team at create and
   * bring it to these settings. To take one over unchanged, by id, use the
   * `import` resource option instead.
   */
  adopt?: pulumi.Input<boolean>;
  /**
   * Deadlines such as `{ create: "30m" }`. Default 20m create and update, 10m
   * delete. The `customTimeouts` resource option fills in what this leaves out.
   */
  timeouts?: pulumi.Input<Timeouts>;
  connection?: ConnectionArgs;
  /** Set by `Landscape` for its members. */
  landscape?: LandscapeMemberArgs;
}

/** How a `Landscape` member inherits the landscape's settings (resolved against the catalog). */
export interface LandscapeMemberArgs {
  name: string;
  pause?: pulumi.Input<boolean>;
  backups?: pulumi.Input<BackupsArgs>;
  teardown?: "delete" | "pause";
}

export class ManagedService extends pulumi.CustomResource {
  declare readonly teamId: pulumi.Output<number>;
  declare readonly name: pulumi.Output<string>;
  declare readonly provider: pulumi.Output<{ name: string; version: string }>;
  declare readonly plan: pulumi.Output<schemas.PlanSelection>;
  /** The configuration as the API reports it (defaults filled in). */
  declare readonly config: pulumi.Output<Record<string, unknown>>;
  declare readonly pause: pulumi.Output<boolean>;
  declare readonly backups: pulumi.Output<{
    enabled: boolean;
    intervalH?: number;
    deleteRetentionDays?: number;
    config?: Record<string, unknown>;
  }>;
  /** The service's state: synchronized, paused, creating, updating, ... (or a state newer than this SDK) */
  declare readonly status: pulumi.Output<schemas.ReportedServiceState>;
  /** Connection details the provider reports; credential-like keys (dsn) are secret, so the whole is. */
  declare readonly details: pulumi.Output<Record<string, unknown>>;
  declare readonly backupEntries: pulumi.Output<schemas.BackupEntry[]>;
  declare readonly createdAt: pulumi.Output<string>;
  /** Keyed fingerprints of the secrets (API path -> key -> fingerprint). */
  declare readonly secretFingerprints: pulumi.Output<Record<string, Record<string, string>>>;

  /** `details.hostname`, not secret. */
  readonly hostname: pulumi.Output<string | undefined>;
  /** `details.port`, not secret. */
  readonly port: pulumi.Output<number | undefined>;
  /** `details.dsn`, a secret. */
  readonly dsn: pulumi.Output<string | undefined>;

  constructor(name: string, args: ManagedServiceArgs, options: pulumi.CustomResourceOptions = {}) {
    // The engine's import reads the resource without its state, which a dynamic provider
    // cannot serve (pulumi/pulumi#16175): the id goes to create instead, which takes the
    // service over unchanged. The engine never sees the option.
    const { import: importId, ...opts } = options;
    const settings = stackSettings(args.connection, name);
    const props: Record<keyof ServiceInputs | OutputKey, unknown> = {
      teamId: args.teamId ?? settings.teamId ?? missingTeam(name),
      name: args.name ?? name,
      provider: args.provider,
      plan: args.plan,
      config: args.config ?? {},
      // Secret inputs are always marked secret, so the state keeps them encrypted.
      secrets: pulumi.secret(args.secrets ?? {}),
      backups: args.backups === undefined ? undefined : withSecretField(args.backups),
      pause: args.pause,
      recoverFrom: args.recoverFrom === undefined ? undefined : withSecretField(args.recoverFrom),
      adopt: args.adopt,
      timeouts: withCustomTimeouts(args.timeouts, opts.customTimeouts),
      __import: importId,
      landscape:
        args.landscape === undefined
          ? undefined
          : {
              ...args.landscape,
              backups:
                args.landscape.backups === undefined ? undefined : withSecretField(args.landscape.backups),
            },
      __connection: {
        apiUrl: settings.apiUrl,
        ...(settings.token !== undefined ? { token: pulumi.secret(settings.token) } : {}),
      },
      // Outputs only.
      status: undefined,
      details: undefined,
      backupEntries: undefined,
      createdAt: undefined,
      secretFingerprints: undefined,
      fingerprintKey: undefined,
    };
    const stacks = withoutPromiseStacks();
    try {
      // What pulumi.dynamic.Resource does, with the provider text written by ./provider
      // instead of serialized from a closure (see there why).
      super(
        "pulumi-nodejs:dynamic/codesphere:ManagedService",
        name,
        { ...props, __provider: PROVIDER_TEXT },
        {
          ...opts,
          additionalSecretOutputs: [...(opts.additionalSecretOutputs ?? []), "fingerprintKey"],
        },
      );
    } catch (error) {
      throw stacks.restored(error);
    } finally {
      stacks.restore();
    }
    // `details` is secret as a whole once any key is; these pick the plain parts back out.
    this.hostname = pulumi.unsecret(this.details.apply((d) => d?.hostname as string | undefined));
    this.port = pulumi.unsecret(this.details.apply((d) => d?.port as number | undefined));
    this.dsn = pulumi.secret(this.details.apply((d) => d?.dsn as string | undefined));
  }
}

/**
 * Turns V8's stack capture off while the resource is constructed. The Node
 * SDK records a stack trace on every promise it makes (about four per
 * resource property, some eighty per ManagedService) only to print them when
 * a program leaks promises and PULUMI_DEBUG_PROMISE_LEAKS is set; formatted
 * through the source maps `pulumi` registers, those traces were most of what
 * declaring a ManagedService cost (5 to 10 ms each, all spent before the first
 * resource reaches the engine). With PULUMI_DEBUG_PROMISE_LEAKS set, stacks
 * stay on. An error thrown while they are off gets the caller's stack back.
 * The price: the engine records no source position for these resources.
 */
function withoutPromiseStacks(): { restore(): void; restored(error: unknown): unknown } {
  const limit = Error.stackTraceLimit;
  const quiet = !process.env.PULUMI_DEBUG_PROMISE_LEAKS;
  if (quiet) Error.stackTraceLimit = 0;
  const restore = () => {
    Error.stackTraceLimit = limit;
  };
  return {
    restore,
    restored(error) {
      restore();
      if (quiet && error instanceof Error) {
        const here = new Error().stack?.split("\n").slice(2).join("\n");
        if (here) error.stack = `${error.stack ?? String(error)}\n${here}`;
      }
      return error;
    },
  };
}

/**
 * `timeouts` with the `customTimeouts` resource option filling in what it
 * leaves out. The Node.js dynamic provider host never passes the engine's
 * timeouts to the provider, so they travel as an input.
 */
function withCustomTimeouts(
  timeouts: pulumi.Input<Timeouts> | undefined,
  custom: pulumi.CustomTimeouts | undefined,
): pulumi.Input<Timeouts> | undefined {
  const fromOption: Timeouts = {};
  for (const key of ["create", "update", "delete"] as const) {
    if (custom?.[key] !== undefined) fromOption[key] = custom[key];
  }
  if (Object.keys(fromOption).length === 0) return timeouts;
  if (timeouts === undefined) return fromOption;
  return pulumi.output(timeouts).apply((own) => ({ ...fromOption, ...stripUndefined(own ?? {}) }));
}

function stripUndefined(t: Timeouts): Timeouts {
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as Timeouts;
}

type OutputKey =
  | "status"
  | "details"
  | "backupEntries"
  | "createdAt"
  | "secretFingerprints"
  | "fingerprintKey";

/** Stack config `codesphere:*`, then the environment. Resolved in the program, where config lives. */
function stackSettings(
  explicit: ConnectionArgs | undefined,
  resource: string,
): { apiUrl: pulumi.Input<string>; token?: pulumi.Input<string>; teamId?: number } {
  const config = new pulumi.Config("codesphere");
  const apiUrl = explicit?.apiUrl ?? config.get("apiUrl") ?? process.env.CS_API;
  if (apiUrl === undefined || apiUrl === "") {
    throw new Error(
      `ManagedService ${resource}: no Codesphere API URL; set it with \`pulumi config set codesphere:apiUrl URL\` or CS_API`,
    );
  }
  // A token from config is recorded (encrypted) so refresh and destroy work anywhere;
  // one from CS_TOKEN stays in the environment and is read by the provider when it runs.
  const token = explicit?.token ?? config.getSecret("token");
  if (token === undefined && !process.env.CS_TOKEN) {
    throw new Error(
      `ManagedService ${resource}: no Codesphere API token; set it with \`pulumi config set --secret codesphere:token TOKEN\` or CS_TOKEN`,
    );
  }
  const rawTeam = config.get("teamId") ?? process.env.CS_TEAM_ID;
  const teamId = rawTeam === undefined || rawTeam === "" ? undefined : Number(rawTeam);
  if (teamId !== undefined && !(Number.isInteger(teamId) && teamId >= 0)) {
    throw new Error(
      `ManagedService ${resource}: codesphere:teamId / CS_TEAM_ID must be a team id, got "${rawTeam}"`,
    );
  }
  return { apiUrl, ...(token !== undefined ? { token } : {}), ...(teamId !== undefined ? { teamId } : {}) };
}

function missingTeam(resource: string): never {
  throw new Error(
    `ManagedService ${resource}: no team; set teamId on the resource, \`pulumi config set codesphere:teamId N\`, or CS_TEAM_ID`,
  );
}

/**
 * The same object with its `secrets` field marked secret, so diffs still show
 * the rest. An object that is itself an Output cannot be reached into without
 * losing the secret mark, so it becomes secret as a whole. (The provider's
 * check seals secret fields again, whatever arrives.)
 */
function withSecretField<T extends { secrets?: pulumi.Input<Values> }>(
  value: pulumi.Input<T>,
): pulumi.Input<T> {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) {
    return pulumi.secret(value) as unknown as pulumi.Output<T>;
  }
  const plain = value as T;
  return plain.secrets === undefined ? plain : { ...plain, secrets: pulumi.secret(plain.secrets) };
}
