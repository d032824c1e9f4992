/**
 * The five providers of Codesphere's core catalog, value for value as
 * contract/core-catalog.md gives them (postgres v1, babelfish v1, ferretdb
 * v0, s3 v1 in ./catalog-s3.ts, virtual-k8s v1): names, descriptions, capabilities, config
 * enums and defaults, plans, update constraints and backup schemas.
 *
 * Where they differ, it is on purpose and listed in
 * sdk/contract-notes.ts (`contractDeviations`, keys `core-catalog ...`);
 * catalog.core.test.ts reads the document and fails on any other
 * difference. Details properties whose description starts with
 * "EXTENSION" are additions of the reference backends.
 */
import {
  type EntryFields,
  icon,
  type JsonSchema,
  objectSchema,
  type Plan,
  port,
  readyExtension,
  referenceDetails,
} from "./catalog-parts";

export { coreS3, S3_BUCKET_NAME } from "./catalog-s3";

const databaseCapabilities = { pause: true, backups: true, pointInTimeRecovery: true };

const corePassword: JsonSchema = { format: "password", type: "string" };

/** The details every core database reports, plus the reference backends' extensions. */
function databaseDetails(dsnDescription?: string, extra: Record<string, JsonSchema> = {}): JsonSchema {
  return objectSchema(
    {
      dsn: { ...(dsnDescription ? { description: dsnDescription } : {}), format: "uri", type: "string" },
      hostname: { format: "hostname", type: "string" },
      port: { type: "integer" },
      ready: { type: "boolean" },
      ...extra,
      ...referenceDetails,
    },
    ["port", "hostname", "dsn", "ready"],
  );
}

/** The backup store of postgres and babelfish: an S3 bucket with an access key pair. */
const databaseBackups = {
  configSchema: objectSchema(
    {
      accessKeyId: {
        description:
          "S3 access key for authentication. The associated user must have write access to the destination bucket.",
        type: "string",
      },
      destinationPath: {
        description:
          'S3 bucket URI where backups are stored. Must use the s3:// scheme, e.g. "s3://backup-test"',
        format: "uri",
        type: "string",
      },
      endpointUrl: {
        description:
          'S3-compatible endpoint URL for the backup storage, e.g. "http://rgw-load-balancer.rook-ceph.svc.cluster.local"',
        format: "uri",
        type: "string",
      },
    },
    ["endpointUrl", "destinationPath", "accessKeyId"],
  ),
  secretsSchema: objectSchema(
    { secretKey: { description: "S3 secret key for authentication", ...corePassword } },
    ["secretKey"],
  ),
};

/**
 * Plans 0..4 of the core databases. The source marks only plan 0's storage
 * `increase-only`, which looks like an oversight (a volume does not shrink
 * on another plan either); here every plan's storage only grows, as the
 * reference backends always enforced (a listed deviation).
 */
function databasePlans(extra: Plan["parameters"] = {}): Plan[] {
  const sizes = [
    { name: "Small", description: "0.5 vCPU / 500 MB Memory", storage: 10240, cpu: 5, memory: 512 },
    { name: "Medium", description: "1 vCPU / 1 GB Memory", storage: 25600, cpu: 10, memory: 1024 },
    { name: "Medium High-Mem", description: "1 vCPU / 2 GB Memory", storage: 25600, cpu: 10, memory: 2048 },
    { name: "Large", description: "2 vCPU / 4 GB Memory", storage: 51200, cpu: 20, memory: 4096 },
    { name: "Extra Large", description: "4 vCPU / 8 GB Memory", storage: 153600, cpu: 40, memory: 8192 },
  ];
  return sizes.map((s, id) => ({
    id,
    name: s.name,
    description: s.description,
    parameters: {
      storage: {
        pricedAs: "storage-mib",
        schema: {
          default: s.storage,
          minimum: 512,
          readOnly: false,
          type: "integer",
          // Landform's: every plan's storage only grows (the core marks plan 0's only).
          "x-update-constraint": "increase-only",
        },
      },
      // `const` is Landform's: JSON Schema does not enforce readOnly, and a plan's cpu and memory are its own.
      cpu: {
        pricedAs: "cpu-tenths",
        schema: { const: s.cpu, default: s.cpu, readOnly: true, type: "number" },
      },
      memory: {
        pricedAs: "ram-mib",
        schema: { const: s.memory, default: s.memory, readOnly: true, type: "integer" },
      },
      ...extra,
    },
  }));
}

export function corePostgres(): EntryFields {
  return {
    name: "postgres",
    version: "v1",
    category: "Database",
    displayName: "PostgreSQL",
    description:
      "Open-source database system tailored for efficient data management and scalability. Newest version of the Provider using the Cloud-Native Operator",
    iconUrl: icon("Pg", "#336791"),
    capabilities: databaseCapabilities,
    configSchema: objectSchema({
      databaseName: { default: "app", type: "string", "x-update-constraint": "immutable" },
      userName: {
        default: "app",
        description: 'Cannot be "postgres" (reserved for the superuser).',
        // The core pattern `^(?!postgres$)` is a lookahead, which RE2 lacks; this says the same.
        not: { const: "postgres" },
        type: "string",
        "x-update-constraint": "immutable",
      },
      version: {
        default: "17.9",
        description:
          "Version of the Postgres DB. Includes pre-installed extensions compatible with this version. Extension versions are managed and cannot be customized.",
        enum: ["17.9", "17.6", "16.13", "16.10", "15.17", "15.14", "14.22", "14.19"],
        readOnly: false,
        type: "string",
        "x-update-constraint": "minor-upgrade-only",
      },
    }),
    secretsSchema: objectSchema(
      {
        superuserPassword: corePassword,
        userPassword: { ...corePassword, "x-update-constraint": "immutable" },
      },
      ["userPassword", "superuserPassword"],
    ),
    detailsSchema: databaseDetails(),
    plans: databasePlans(),
    backups: databaseBackups,
  };
}

export function coreBabelfish(): EntryFields {
  return {
    name: "babelfish",
    version: "v1",
    category: "Database",
    displayName: "Babelfish (T-SQL compatible)",
    description:
      "PostgreSQL instance with Babelfish extension to support applications requiring Microsoft TDS compatibility",
    iconUrl: icon("Bf", "#1f6feb"),
    capabilities: databaseCapabilities,
    configSchema: objectSchema({
      version: {
        default: "17.6-5.3.0",
        description: "Version of the Postgres DB and the corresponding version of Babelfish",
        enum: ["17.6-5.3.0", "16.10-4.7.0"],
        readOnly: false,
        type: "string",
        "x-update-constraint": "minor-upgrade-only",
      },
    }),
    secretsSchema: objectSchema({ superuserPassword: corePassword }, ["superuserPassword"]),
    detailsSchema: databaseDetails(
      "TDS connection string for the superuser and master database. Use this to connect with full administrative privileges.",
      {
        pgPort: {
          ...port("PostgreSQL protocol port."),
          description: "EXTENSION (reference backends): PostgreSQL protocol port.",
        },
      },
    ),
    plans: databasePlans(),
    backups: databaseBackups,
  };
}

export function coreFerretdb(): EntryFields {
  return {
    name: "ferretdb",
    version: "v0",
    category: "Database",
    displayName: "Codesphere Document DB (MongoDB compatible)",
    description:
      "FerretDB based provider for MongoDB-compatible document database workloads. Powered by PostgreSQL.",
    iconUrl: icon("Fd", "#0c7d6b"),
    capabilities: { pause: true, backups: false, pointInTimeRecovery: false },
    configSchema: objectSchema({
      version: {
        default: "17-0.107.0-ferretdb-2.7.0",
        description: "Version of the Postgres / DocumentDB extension / FerretDB",
        enum: ["17-0.107.0-ferretdb-2.7.0"],
        readOnly: false,
        type: "string",
        "x-update-constraint": "minor-upgrade-only",
      },
    }),
    secretsSchema: objectSchema({ superuserPassword: corePassword }, ["superuserPassword"]),
    detailsSchema: databaseDetails(
      "MongoDB connection string for the admin user and admin database. Use this to connect with full administrative privileges.",
    ),
    plans: databasePlans({
      ferretdbCpu: {
        pricedAs: "cpu-tenths",
        schema: { default: 3, maximum: 10, minimum: 1, readOnly: false, type: "number" },
      },
      ferretdbMemory: {
        pricedAs: "ram-mib",
        schema: { default: 128, maximum: 1024, minimum: 128, readOnly: false, type: "integer" },
      },
    }),
  };
}

export function coreVirtualK8s(): EntryFields {
  const limit = (value: number, minimum: number, maximum: number, description: string) => ({
    default: value,
    description,
    maximum,
    minimum,
    readOnly: false,
    type: "integer",
  });
  return {
    name: "virtual-k8s",
    version: "v1",
    category: "Advanced Compute",
    displayName: "Virtual Kubernetes Cluster",
    description:
      "Virtual k8s cluster running inside of host cluster. Basis for cloud native deployments inside of Codesphere.",
    iconUrl: icon("K8s", "#326ce5"),
    capabilities: { pause: false, backups: false, pointInTimeRecovery: false },
    configSchema: objectSchema({}),
    secretsSchema: objectSchema({}),
    // No cluster runs here: the details only say so (simulated: true).
    detailsSchema: objectSchema({
      hostname: { type: "string", description: "EXTENSION (reference backends): placeholder host name." },
      ready: readyExtension,
      ...referenceDetails,
    }),
    plans: [
      {
        id: 0,
        name: "Custom",
        description: "Modify all parameters",
        parameters: {
          cpu: { pricedAs: "cpu-tenths", schema: limit(20, 20, 160, "vCPU Limit") },
          ephemeralStorage: {
            pricedAs: "storage-mib",
            schema: limit(30000, 30000, 120000, "Ephemeral Storage Limit (MiB)"),
          },
          memory: { pricedAs: "ram-mib", schema: limit(5120, 5120, 32768, "RAM limit (MiB)") },
          storage: { pricedAs: "storage-mib", schema: limit(20000, 20000, 120000, "Storage Limit (MiB)") },
        },
      },
    ],
  };
}
