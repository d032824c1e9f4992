/**
 * landform/policy: a @pulumi/policy pack for Codesphere managed services
 * (`ManagedService` resources, type token
 * `pulumi-nodejs:dynamic/codesphere:ManagedService`). See docs/policy.md.
 *
 *   // index.js of a policy pack folder (PulumiPolicy.yaml: `runtime: nodejs`)
 *   const { landformPolicyPack } = require("landform/policy");
 *   landformPolicyPack("landform", { config: { "codesphere-database-backups": { minDeleteRetentionDays: 14 } } });
 *
 *   pulumi preview --policy-pack ./policy [--policy-pack-config policy-config.json]
 *
 * Importing this module starts nothing: `new PolicyPack()` serves the pack
 * to the engine at once, so @pulumi/policy is loaded only inside
 * `landformPolicyPack`. The policies are plain objects whose
 * `validateResource` (and pure `check*`) functions can be called directly.
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyPack,
  PolicyPackArgs,
  PolicyPackConfig,
} from "@pulumi/policy";
import { managedServicePolicies } from "./policies";

export {
  checkDatabaseBackups,
  checkPauseInProduction,
  checkPlanLimits,
  checkSecretsInConfig,
  DATABASE_BACKUPS_DEFAULTS,
  type DatabaseBackupsSettings,
  databaseBackupsPolicy,
  MANAGED_SERVICE_TYPE,
  type ManagedServicePolicy,
  managedServicePolicies,
  PAUSE_IN_PRODUCTION_DEFAULTS,
  type PauseInProductionSettings,
  PLAN_LIMITS_DEFAULTS,
  type PlanLimitsSettings,
  pauseInProductionPolicy,
  planLimitsPolicy,
  SECRETS_IN_CONFIG_DEFAULTS,
  type SecretsInConfigSettings,
  secretsInConfigPolicy,
  settingsOf,
} from "./policies";
export { isCredentialKey, isUnknown, matchesStackPattern, UNKNOWN } from "./values";

export interface LandformPolicyPackOptions {
  /**
   * Settings per policy name, as in a `--policy-pack-config` file:
   * `{ "codesphere-plan-limits": { enforcementLevel: "mandatory", maxPlanParameters: {...} } }`
   * or `{ "codesphere-no-pause-in-production": "disabled" }`. A config file
   * given to the CLI still overrides them, setting by setting.
   */
  config?: PolicyPackConfig;
  /** Enforcement level of every landform policy instead of its own default (config still wins). */
  enforcementLevel?: EnforcementLevel;
  /** More policies served by the same pack, after landform's. */
  policies?: Policies;
  description?: string;
}

/** What `landformPolicyPack` hands to `new PolicyPack(name, args, initialConfig)`; starts nothing. */
export function landformPolicyPackArgs(options: LandformPolicyPackOptions = {}): {
  args: PolicyPackArgs;
  initialConfig: PolicyPackConfig | undefined;
} {
  const level = options.enforcementLevel;
  const own =
    level === undefined
      ? managedServicePolicies
      : managedServicePolicies.map((p) => ({ ...p, enforcementLevel: level }));
  const policies = [...own, ...(options.policies ?? [])];
  const names = new Set<string>();
  for (const p of policies) {
    if (names.has(p.name)) throw new Error(`landformPolicyPack: two policies are named ${p.name}`);
    names.add(p.name);
  }
  for (const name of Object.keys(options.config ?? {})) {
    if (name !== "all" && !names.has(name)) {
      throw new Error(
        `landformPolicyPack: config names the policy ${JSON.stringify(name)}, which the pack does not have ` +
          `(it has ${[...names].join(", ")})`,
      );
    }
  }
  return {
    args: {
      policies,
      description:
        options.description ??
        "Codesphere managed services: database backups, no credentials in plain config, plan limits, " +
          "no paused services in production.",
    },
    initialConfig: options.config,
  };
}

/**
 * Serves the pack to the Pulumi engine: call it once from a policy pack's
 * entry point (a folder with PulumiPolicy.yaml and a package.json carrying
 * a version). It starts the analyzer server at once, so never call it in a
 * program or a test.
 */
export function landformPolicyPack(name = "landform", options: LandformPolicyPackOptions = {}): PolicyPack {
  const { args, initialConfig } = landformPolicyPackArgs(options);
  const policy = require("@pulumi/policy") as typeof import("@pulumi/policy");
  return new policy.PolicyPack(name, args, initialConfig);
}
