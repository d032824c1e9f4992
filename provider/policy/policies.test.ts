import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { unknownCheckingProxy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import {
  checkDatabaseBackups,
  DATABASE_BACKUPS_DEFAULTS,
  databaseBackupsPolicy,
  MANAGED_SERVICE_TYPE,
  type ManagedServicePolicy,
  managedServicePolicies,
  pauseInProductionPolicy,
  planLimitsPolicy,
  secretsInConfigPolicy,
  settingsOf,
} from "./policies";
import { UNKNOWN } from "./values";

const URN = (stack: string, name = "db", project = "shop") =>
  `urn:pulumi:${stack}::${project}::${MANAGED_SERVICE_TYPE}::${name}`;

type Props = Record<string, unknown>;

/**
 * Runs a policy's validateResource as the policy server does: the properties
 * behind the SDK's unknown-checking proxy, the policy's config from the pack.
 */
function violations(
  policy: ResourceValidationPolicy,
  props: Props,
  options: { config?: object; urn?: string; type?: string } = {},
): string[] {
  const messages: string[] = [];
  const args = {
    type: options.type ?? MANAGED_SERVICE_TYPE,
    props: unknownCheckingProxy(structuredClone(props)),
    urn: options.urn ?? URN("dev"),
    name: "db",
    opts: {} as ResourceValidationArgs["opts"],
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => (options.config ?? {}) as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  } as ResourceValidationArgs;
  const validate = policy.validateResource;
  for (const v of Array.isArray(validate) ? validate : [validate!]) {
    v(args, (message) => {
      messages.push(message);
    });
  }
  return messages;
}

const backupStore = {
  config: {
    endpointUrl: "https://s3.example",
    destinationPath: "s3://backups/orders",
    accessKeyId: "AKIAEXAMPLE",
  },
  secrets: { secretKey: "sk-example" },
};

/** A postgres as the provider's check hands it on: plan parameters and config defaults filled in. */
function postgres(overrides: Props = {}): Props {
  return {
    teamId: 1,
    name: "orders-db",
    provider: { name: "postgres", version: "v1" },
    plan: { id: 0, parameters: { storage: 1024, cpu: 5, memory: 1024 } },
    config: { version: "16.6", userName: "orders", databaseName: "app" },
    secrets: { userPassword: "upw-example-1234" },
    backups: { enabled: true, intervalH: 24, deleteRetentionDays: 7, ...backupStore },
    pause: false,
    __connection: { apiUrl: "http://127.0.0.1:1/v1" },
    __provider: "exports.handler = ...",
    ...overrides,
  };
}

function redis(overrides: Props = {}): Props {
  return {
    teamId: 1,
    name: "cache",
    provider: { name: "redis", version: "v1" },
    plan: { id: 0, parameters: { memory: 256, cpu: 2 } },
    config: { maxmemoryPolicy: "noeviction" },
    secrets: { password: "rpw-example-1234" },
    pause: false,
    ...overrides,
  };
}

describe("every policy", () => {
  it.each(managedServicePolicies.map((p) => [p.name, p] as const))(
    "%s has a description, an enforcement level and a config schema whose defaults are the policy's",
    (_name, policy) => {
      const p = policy as ManagedServicePolicy<object>;
      expect(p.description.length).toBeGreaterThan(20);
      expect(["advisory", "mandatory"]).toContain(p.enforcementLevel);
      const schemaDefaults = Object.fromEntries(
        Object.entries(p.configSchema.properties).map(([k, s]) => [k, (s as { default?: unknown }).default]),
      );
      expect(schemaDefaults).toEqual({ ...p.defaults });
      expect(p.configSchema.properties).not.toHaveProperty("enforcementLevel");
    },
  );

  it("have the documented names and levels", () => {
    expect(managedServicePolicies.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ["codesphere-database-backups", "mandatory"],
      ["codesphere-no-secrets-in-config", "mandatory"],
      ["codesphere-plan-limits", "advisory"],
      ["codesphere-no-pause-in-production", "advisory"],
    ]);
  });

  it("ignore resources that are not ManagedServices", () => {
    const props = postgres({ backups: undefined, config: { password: "hunter2-hunter2" }, pause: true });
    for (const policy of managedServicePolicies) {
      expect(violations(policy, props, { type: "aws:s3/bucket:Bucket", urn: URN("prod") })).toEqual([]);
    }
  });

  it("pass a compliant database, even in production", () => {
    for (const policy of managedServicePolicies) {
      expect(violations(policy, postgres(), { urn: URN("prod") })).toEqual([]);
    }
  });

  it("settings: given values win, absent and null ones keep the default", () => {
    expect(
      settingsOf(DATABASE_BACKUPS_DEFAULTS, {
        minDeleteRetentionDays: 14,
        maxIntervalH: null,
        enforcementLevel: "x",
      }),
    ).toEqual({ ...DATABASE_BACKUPS_DEFAULTS, minDeleteRetentionDays: 14 });
  });
});

describe("codesphere-database-backups", () => {
  const run = (props: Props, config?: object) => violations(databaseBackupsPolicy, props, { config });

  it("reports a database without backups, naming the field and the provider", () => {
    const messages = run(postgres({ backups: undefined }));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^backups: postgres is a database and must have backups enabled/);
  });

  it("reports backups turned off", () => {
    expect(run(postgres({ backups: { enabled: false } }))).toEqual([
      expect.stringMatching(/^backups: postgres is a database/),
    ]);
  });

  it("covers postgres, postgresql and babelfish by default, case-insensitively", () => {
    for (const name of ["postgres", "postgresql", "babelfish", "PostgreSQL"]) {
      expect(run(postgres({ provider: { name, version: "v1" }, backups: undefined }))).toHaveLength(1);
    }
  });

  it("leaves other providers alone", () => {
    expect(run(redis())).toEqual([]);
  });

  it("passes backups within the limits, and `enabled` may be left out", () => {
    expect(run(postgres())).toEqual([]);
    expect(run(postgres({ backups: { intervalH: 1, deleteRetentionDays: 30, ...backupStore } }))).toEqual([]);
  });

  it("reports a short retention and a long interval, each naming its field", () => {
    const messages = run(
      postgres({ backups: { enabled: true, intervalH: 48, deleteRetentionDays: 3, ...backupStore } }),
    );
    expect(messages).toEqual([
      expect.stringMatching(/^backups\.deleteRetentionDays: 3 is below the minimum of 7 days/),
      expect.stringMatching(/^backups\.intervalH: 48 hours between backups is more than the maximum of 24/),
    ]);
  });

  it("reports a retention or interval that is not set", () => {
    const messages = run(postgres({ backups: { enabled: true, ...backupStore } }));
    expect(messages).toEqual([
      expect.stringMatching(/^backups\.deleteRetentionDays: is not set/),
      expect.stringMatching(/^backups\.intervalH: is not set/),
    ]);
  });

  it("is tuned by the pack's config", () => {
    expect(run(postgres(), { minDeleteRetentionDays: 14 })).toEqual([
      expect.stringMatching(/^backups\.deleteRetentionDays: 7 is below the minimum of 14 days/),
    ]);
    const hourly48 = postgres({ backups: { intervalH: 48, deleteRetentionDays: 7, ...backupStore } });
    expect(run(hourly48)).toHaveLength(1);
    expect(run(hourly48, { maxIntervalH: 48 })).toEqual([]);
    // Which providers are databases is a setting too.
    expect(run(redis(), { databaseProviders: ["redis"] })).toEqual([
      expect.stringMatching(/^backups: redis is a database/),
    ]);
    expect(run(postgres({ backups: undefined }), { databaseProviders: ["redis"] })).toEqual([]);
  });

  it("accepts a landscape member's inherited backups when check has not copied them", () => {
    const landscape = { name: "shop", backups: { intervalH: 24, deleteRetentionDays: 7, ...backupStore } };
    expect(run(postgres({ backups: undefined, landscape }))).toEqual([]);
    expect(run(postgres({ backups: undefined, landscape: { name: "shop" } }))).toHaveLength(1);
  });

  it("tolerates values not known during a preview and still checks the known ones", () => {
    expect(run(postgres({ backups: UNKNOWN }))).toEqual([]);
    expect(run(postgres({ provider: UNKNOWN, backups: undefined }))).toEqual([]);
    expect(run(postgres({ provider: { name: UNKNOWN, version: "v1" }, backups: undefined }))).toEqual([]);
    expect(run(postgres({ backups: { enabled: UNKNOWN, intervalH: 999, ...backupStore } }))).toEqual([]);
    const partly = postgres({
      backups: { enabled: true, intervalH: 48, deleteRetentionDays: UNKNOWN, ...backupStore },
    });
    expect(run(partly)).toEqual([expect.stringMatching(/^backups\.intervalH: 48/)]);
  });

  it("is a pure function too", () => {
    expect(checkDatabaseBackups(postgres({ backups: undefined }), DATABASE_BACKUPS_DEFAULTS)).toHaveLength(1);
  });
});

describe("codesphere-no-secrets-in-config", () => {
  const run = (props: Props, config?: object) => violations(secretsInConfigPolicy, props, { config });

  it("reports a credential in config, naming the key and where it belongs", () => {
    const messages = run(postgres({ config: { version: "16.6", userPassword: "hunter2-hunter2" } }));
    expect(messages).toEqual([
      expect.stringMatching(/^config\.userPassword: looks like a credential; .* put it in `secrets`/),
    ]);
  });

  it("never repeats the value", () => {
    const messages = run(
      postgres({ config: { apiToken: "tok-Zz81-never-shown", url: "postgres://app:pw-Zz81-hidden@db/app" } }),
    );
    expect(messages).toHaveLength(2);
    expect(messages.join("\n")).not.toMatch(/Zz81/);
  });

  it("passes ordinary config, the S3 access key id and non-string values", () => {
    expect(run(postgres())).toEqual([]);
    expect(
      run(redis({ config: { maxmemoryPolicy: "allkeys-lru", maxKeys: 5, tokenUrl: "https://t" } })),
    ).toEqual([]);
    expect(run(redis({ config: { password: "" } }))).toEqual([]);
  });

  it("reports credentials in backup and recovery config, pointing at their secrets", () => {
    const messages = run(
      postgres({
        backups: {
          intervalH: 24,
          deleteRetentionDays: 7,
          config: { ...backupStore.config, secretKey: "sk" },
        },
        recoverFrom: { id: "b-1", config: { accessKey: "ak" }, secrets: {} },
      }),
    );
    expect(messages).toEqual([
      expect.stringMatching(/^backups\.config\.secretKey: .* put it in `backups\.secrets`/),
      expect.stringMatching(/^recoverFrom\.config\.accessKey: .* put it in `recoverFrom\.secrets`/),
    ]);
  });

  it("looks into nested values and finds passwords in URLs", () => {
    const messages = run(
      redis({
        config: {
          auth: { clientSecret: "cs" },
          replicas: ["redis://default:pw@replica-1:6379"],
          upstream: "redis://replica-2:6379",
        },
      }),
    );
    expect(messages).toEqual([
      expect.stringMatching(/^config\.auth\.clientSecret: looks like a credential/),
      expect.stringMatching(/^config\.replicas\[0\]: holds a URL with a password/),
    ]);
  });

  it("reports a credential-named key whose value is not known yet (a generated password)", () => {
    expect(run(redis({ config: { password: UNKNOWN } }))).toEqual([
      expect.stringMatching(/^config\.password: looks like a credential \(its value is not known yet\)/),
    ]);
    expect(run(redis({ config: UNKNOWN }))).toEqual([]);
    expect(run(redis({ config: { maxmemoryPolicy: UNKNOWN } }))).toEqual([]);
  });

  it("is tuned by the pack's config: allowed keys and more patterns", () => {
    const props = redis({ config: { signingKey: "public-id", dsn: "redis://cache:6379" } });
    expect(run(props)).toHaveLength(1);
    expect(run(props, { allowedKeys: ["signingKey"] })).toEqual([]);
    expect(run(props, { allowedKeys: ["config.signingKey"] })).toEqual([]);
    expect(run(props, { allowedKeys: ["signingKey"], extraKeyPatterns: ["^dsn$"] })).toEqual([
      expect.stringMatching(/^config\.dsn: looks like a credential/),
    ]);
    expect(() => run(props, { extraKeyPatterns: ["("] })).toThrow(
      /extraKeyPatterns entry "\(" is not a regular/,
    );
  });
});

describe("codesphere-plan-limits", () => {
  const run = (props: Props, config?: object) => violations(planLimitsPolicy, props, { config });
  const withStorage = (storage: unknown) => postgres({ plan: { id: 4, parameters: { storage } } });

  it("reports a parameter above the provider's limit, naming the field", () => {
    expect(run(withStorage(51200))).toEqual([
      "plan.parameters.storage: 51200 is above the limit of 20480 for postgres (policy setting maxPlanParameters)",
    ]);
    expect(run(withStorage(20480))).toEqual([]);
  });

  it("uses each provider's own units (postgresql storage in GB)", () => {
    const pg = (storage: number) =>
      postgres({
        provider: { name: "postgresql", version: "v16" },
        plan: { id: 3, parameters: { storage } },
      });
    expect(run(pg(100))).toHaveLength(1);
    expect(run(pg(20))).toEqual([]);
  });

  it("is tuned by the pack's config; `*` applies to every provider and a provider's own entry wins", () => {
    expect(run(withStorage(51200), { maxPlanParameters: { postgres: { storage: 102400 } } })).toEqual([]);
    const big = redis({ plan: { id: 2, parameters: { memory: 4096, cpu: 10 } } });
    expect(run(big)).toEqual([]);
    expect(run(big, { maxPlanParameters: { "*": { memory: 1024 } } })).toEqual([
      expect.stringMatching(/^plan\.parameters\.memory: 4096 is above the limit of 1024 for redis/),
    ]);
    expect(run(big, { maxPlanParameters: { "*": { memory: 1024 }, redis: { memory: 8192 } } })).toEqual([]);
  });

  it("tolerates unknown values", () => {
    expect(run(withStorage(UNKNOWN))).toEqual([]);
    expect(run(postgres({ plan: UNKNOWN }))).toEqual([]);
    expect(run(postgres({ plan: { id: 0, parameters: UNKNOWN } }))).toEqual([]);
  });
});

describe("codesphere-no-pause-in-production", () => {
  const run = (props: Props, stack: string, config?: object, project = "shop") =>
    violations(pauseInProductionPolicy, props, { urn: URN(stack, "db", project), config });

  it("reports a paused service in a production stack, naming the field and the stack", () => {
    for (const stack of ["prod", "production", "prod-eu", "eu-prod"]) {
      expect(run(redis({ pause: true }), stack)).toEqual([
        expect.stringMatching(
          new RegExp(`^pause: true pauses this service in stack ${stack}, a production stack`),
        ),
      ]);
    }
  });

  it("allows pausing elsewhere, and running services anywhere", () => {
    expect(run(redis({ pause: true }), "dev")).toEqual([]);
    expect(run(redis({ pause: true }), "products")).toEqual([]);
    expect(run(redis({ pause: false }), "prod")).toEqual([]);
    expect(run(redis({ pause: UNKNOWN }), "prod")).toEqual([]);
  });

  it("is tuned by the pack's config", () => {
    expect(run(redis({ pause: true }), "live", { productionStacks: ["live"] })).toHaveLength(1);
    expect(run(redis({ pause: true }), "prod", { productionStacks: ["live"] })).toEqual([]);
    expect(run(redis({ pause: true }), "main", { productionStacks: ["shop/main"] })).toHaveLength(1);
    expect(run(redis({ pause: true }), "main", { productionStacks: ["shop/main"] }, "blog")).toEqual([]);
  });
});
