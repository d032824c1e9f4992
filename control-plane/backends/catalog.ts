/**
 * The bundled provider catalog: the providers the reference control plane
 * offers out of the box, each served by the bundled reference backends
 * (`./reference`) under `${backendBaseUrl}/api/v1/${name}`.
 *
 * `postgres`, `babelfish` and `s3` follow Codesphere's own core catalog;
 * `postgresql` (v14 to v17) is shaped like the published guide's example so
 * that its create request works verbatim; `redis` is a cache.
 *
 * Every schema is plain JSON Schema (draft 2020-12) plus one vendor keyword,
 * `x-update-constraint`, which says how a value may change after create (see
 * UPDATE_CONSTRAINTS). Details schemas carry EXTENSIONS of the reference
 * backends: `phase` (what the backend is doing); for services that run a real
 * server (postgres, postgresql, redis; see ./reference/engines)
 * `serverVersion` and `restarts`; for simulated ones `simulated: true` and
 * `dataUrl` (the key-value data set that stands in for a server's data).
 *
 * `postgresql` has one endpoint per version (`/api/v1/postgresql/v15`): the
 * contract's create body does not name the provider version, and the version
 * picks the PostgreSQL major the backend starts.
 */
import type { z } from "zod";
import type * as schemas from "../../sdk/schemas";

export type ApiProvider = z.infer<typeof schemas.ApiProvider>;
type JsonSchema = Record<string, unknown>;
type Plan = ApiProvider["plans"][number];

/**
 * Values of the `x-update-constraint` keyword:
 * - `immutable`: set at create, never changed (changing it means a new service);
 * - `increase-only`: a number that may grow but never shrink (storage);
 * - `minor-upgrade-only`: a "MAJOR.MINOR" version that may move to a newer
 *   minor of the same major, never down and never to another major.
 */
export { UPDATE_CONSTRAINTS, type UpdateConstraint } from "../../sdk/catalog";

import type { UpdateConstraint } from "../../sdk/catalog";

/**
 * EXTENSION: what a reference backend reports in `details.phase`. An operation
 * in flight (`provisioning`, `updating`, `pausing`, `resuming`) ends in
 * `running` or `paused`; `details.ready` is true only in `running`.
 */
export const SERVICE_PHASES = [
  "provisioning",
  "updating",
  "pausing",
  "paused",
  "resuming",
  "running",
] as const;
export type ServicePhase = (typeof SERVICE_PHASES)[number];

const DRAFT = "https://json-schema.org/draft/2020-12/schema";

function objectSchema(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { $schema: DRAFT, type: "object", properties, required, additionalProperties: false };
}

function icon(letters: string, color: string): string {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">` +
    `<rect width="64" height="64" rx="12" fill="${color}"/>` +
    `<text x="32" y="41" font-family="sans-serif" font-size="24" font-weight="bold" fill="#fff" text-anchor="middle">${letters}</text>` +
    `</svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

// ---------------------------------------------------------------- shared schema parts

const PG_IDENTIFIER = "^[a-z_][a-z0-9_]{0,62}$";

/** EXTENSIONS of the reference backends, shared by every details schema. */
const referenceDetails: Record<string, JsonSchema> = {
  phase: {
    type: "string",
    enum: [...SERVICE_PHASES],
    description: "EXTENSION (reference backends): what the backend is doing; `running` when usable.",
  },
  dataUrl: {
    type: "string",
    description:
      "EXTENSION (reference backends, simulated services only): URL of the service's key-value data set.",
  },
  simulated: {
    type: "boolean",
    description: "EXTENSION (reference backends): true when no real server runs behind the service.",
  },
  serverVersion: {
    type: "string",
    description: "EXTENSION (reference backends): the version the running server reports.",
  },
  restarts: {
    type: "integer",
    minimum: 0,
    description: "EXTENSION (reference backends): times the server died on its own and was started again.",
  },
};
const readyDetail: JsonSchema = {
  type: "boolean",
  description: "True once the service accepts connections.",
};
const hostnameDetail: JsonSchema = { type: "string", description: "Host name clients connect to." };

function port(description: string): JsonSchema {
  return { type: "integer", minimum: 1, maximum: 65535, description };
}

function password(description: string, constraint?: UpdateConstraint): JsonSchema {
  return {
    type: "string",
    minLength: 8,
    writeOnly: true,
    description,
    ...(constraint ? { "x-update-constraint": constraint } : {}),
  };
}

/** A plan parameter fixed by the plan: shown for pricing, never chosen. */
function fixed(value: number, description: string): JsonSchema {
  return { type: "integer", readOnly: true, const: value, default: value, description };
}

/** A plan parameter the user chooses and may only grow. */
function growable(value: number, minimum: number, description: string): JsonSchema {
  return { type: "integer", minimum, default: value, "x-update-constraint": "increase-only", description };
}

/** The backup store of Codesphere's core catalog: an S3 bucket with an access key pair. */
const coreBackupStore = {
  configSchema: objectSchema(
    {
      endpointUrl: { type: "string", pattern: "^https?://", description: "S3 endpoint URL." },
      destinationPath: {
        type: "string",
        pattern: "^s3://",
        description: "Bucket and prefix the backups are written to, e.g. s3://bucket/prefix/.",
      },
      accessKeyId: { type: "string", minLength: 1, description: "S3 access key id." },
    },
    ["endpointUrl", "destinationPath", "accessKeyId"],
  ),
  secretsSchema: objectSchema(
    { secretKey: { type: "string", minLength: 1, writeOnly: true, description: "S3 secret access key." } },
    ["secretKey"],
  ),
};

/** Plans 0..4 of the core database providers: storage in MiB, CPU and memory fixed per plan. */
function coreDatabasePlans(): Plan[] {
  const sizes = [
    { name: "Small", cpu: 5, memory: 1024, storage: 1024 },
    { name: "Medium", cpu: 10, memory: 2048, storage: 5120 },
    { name: "Large", cpu: 20, memory: 4096, storage: 10240 },
    { name: "Very Large", cpu: 40, memory: 8192, storage: 20480 },
    { name: "Extra Large", cpu: 80, memory: 16384, storage: 51200 },
  ];
  return sizes.map((s, id) => ({
    id,
    name: s.name,
    description: `${s.cpu / 10} vCPU, ${s.memory} MiB memory, from ${s.storage} MiB storage`,
    parameters: {
      storage: { pricedAs: "storage-mib", schema: growable(s.storage, 512, "Storage in MiB.") },
      cpu: { pricedAs: "cpu-tenths", schema: fixed(s.cpu, "CPU in tenths of a vCPU.") },
      memory: { pricedAs: "ram-mib", schema: fixed(s.memory, "Memory in MiB.") },
    },
  }));
}

function coreDatabaseConfig(versions: string[], versionDescription: string): JsonSchema {
  return objectSchema({
    version: {
      type: "string",
      enum: versions,
      default: versions[0],
      description: versionDescription,
      "x-update-constraint": "minor-upgrade-only",
    },
    userName: {
      type: "string",
      pattern: PG_IDENTIFIER,
      default: "app",
      description: "Name of the application user (lowercase letters, digits, '_'; at most 63).",
      "x-update-constraint": "immutable",
    },
    databaseName: {
      type: "string",
      pattern: PG_IDENTIFIER,
      default: "app",
      description: "Name of the application database (lowercase letters, digits, '_'; at most 63).",
      "x-update-constraint": "immutable",
    },
  });
}

const coreDatabaseSecrets = objectSchema(
  {
    userPassword: password("Password of the application user (at least 8 characters).", "immutable"),
    superuserPassword: password("Password of the superuser (at least 8 characters)."),
  },
  ["userPassword"],
);

const databaseCapabilities = { pause: true, backups: true, pointInTimeRecovery: true };

/**
 * The core catalog's s3 bucket-name rule without lookaround (RE2 has none):
 * 3 to 63 of [a-z0-9.-], a letter or digit at both ends, and no "..", ".-"
 * or "-." anywhere.
 */
export const S3_BUCKET_NAME = {
  pattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
  not: { pattern: "\\.\\.|\\.-|-\\." },
} as const;

/** An s3 plan limit as the core catalog writes it (no pricing unit). */
function s3Limit(value: number, maximum: number, description: string, increaseOnly = false) {
  return {
    schema: {
      default: value,
      description,
      maximum,
      minimum: 1,
      readOnly: false,
      type: "integer",
      ...(increaseOnly ? { "x-update-constraint": "increase-only" } : {}),
    },
  };
}

// ---------------------------------------------------------------- the catalog

export function bundledCatalog(backendBaseUrl: string, key: string): ApiProvider[] {
  const base = backendBaseUrl.replace(/\/+$/, "");
  const entry = (
    fields: Omit<ApiProvider, "backend" | "schemaVersion" | "scope" | "author">,
  ): ApiProvider => ({
    ...fields,
    schemaVersion: fields.version,
    scope: "global",
    author: "Landform",
    backend: {
      api: {
        endpoint: `${base}/api/v1/${fields.name}${fields.name === "postgresql" ? `/${fields.version}` : ""}`,
        ...(key ? { secret: key } : {}),
      },
    },
  });

  const postgres = entry({
    name: "postgres",
    version: "v1",
    category: "Database",
    displayName: "PostgreSQL",
    description: "Managed PostgreSQL with backups and point-in-time recovery.",
    iconUrl: icon("Pg", "#336791"),
    capabilities: databaseCapabilities,
    configSchema: coreDatabaseConfig(
      ["17.2", "17.1", "16.6", "16.5", "15.10", "15.9", "14.15", "14.14"],
      "PostgreSQL version; may move to a newer minor of the same major only.",
    ),
    secretsSchema: coreDatabaseSecrets,
    detailsSchema: objectSchema(
      {
        hostname: hostnameDetail,
        port: port("PostgreSQL port."),
        dsn: { type: "string", description: "Connection string without the password." },
        ready: readyDetail,
        ...referenceDetails,
      },
      ["ready"],
    ),
    plans: coreDatabasePlans(),
    backups: coreBackupStore,
  });

  const postgresql = ["v14", "v15", "v16", "v17"].map((version) =>
    entry({
      name: "postgresql",
      version,
      category: "Database",
      displayName: `PostgreSQL ${version.slice(1)}`,
      description: `PostgreSQL ${version.slice(1)} with automated backups.`,
      iconUrl: icon("Pg", "#336791"),
      capabilities: databaseCapabilities,
      configSchema: objectSchema({
        max_connections: {
          type: "string",
          pattern: "^[0-9]+$",
          default: "100",
          description: "Maximum number of concurrent connections (digits).",
        },
      }),
      secretsSchema: objectSchema(
        {
          username: {
            type: "string",
            pattern: PG_IDENTIFIER,
            writeOnly: true,
            description: "Database user.",
          },
          password: { type: "string", minLength: 1, writeOnly: true, description: "Password of the user." },
        },
        ["username", "password"],
      ),
      detailsSchema: objectSchema(
        {
          hostname: hostnameDetail,
          port: port("PostgreSQL port."),
          dsn: { type: "string", description: "Connection string without user or password." },
          ready: readyDetail,
          ...referenceDetails,
        },
        ["ready"],
      ),
      plans: [
        { name: "Hobby", cpu: 5, memory: 512, storage: 5 },
        { name: "Standard", cpu: 10, memory: 2048, storage: 10 },
        { name: "Pro", cpu: 20, memory: 4096, storage: 20 },
        { name: "Enterprise", cpu: 80, memory: 16384, storage: 100 },
      ].map((p, id) => ({
        id,
        name: p.name,
        description: `${p.cpu / 10} vCPU, ${p.memory} MiB memory, from ${p.storage} GB storage`,
        parameters: {
          // GB has no pricing unit of its own (storage-mib is MiB), so storage is not priced here.
          storage: { schema: growable(p.storage, 1, "Storage in GB.") },
          cpu: { pricedAs: "cpu-tenths", schema: fixed(p.cpu, "CPU in tenths of a vCPU.") },
          memory: { pricedAs: "ram-mib", schema: fixed(p.memory, "Memory in MiB.") },
        },
      })),
      backups: {
        configSchema: objectSchema(
          {
            endpointUrl: { type: "string", pattern: "^https?://", description: "S3 endpoint URL." },
            destinationPath: { type: "string", pattern: "^s3://", description: "Bucket and prefix." },
          },
          ["endpointUrl", "destinationPath"],
        ),
        secretsSchema: objectSchema(
          {
            accessKey: { type: "string", minLength: 1, writeOnly: true, description: "S3 access key." },
            secretKey: { type: "string", minLength: 1, writeOnly: true, description: "S3 secret key." },
          },
          ["accessKey", "secretKey"],
        ),
      },
    }),
  );

  const redis = entry({
    name: "redis",
    version: "v1",
    category: "Cache",
    displayName: "Redis",
    description: "In-memory key-value cache.",
    iconUrl: icon("R", "#dc382d"),
    // Backups are RDB snapshots; Redis keeps no log to replay, so there is no point in time to recover to.
    capabilities: { pause: true, backups: true, pointInTimeRecovery: false },
    configSchema: objectSchema({
      maxmemoryPolicy: {
        type: "string",
        enum: [
          "noeviction",
          "allkeys-lru",
          "allkeys-lfu",
          "allkeys-random",
          "volatile-lru",
          "volatile-lfu",
          "volatile-random",
          "volatile-ttl",
        ],
        default: "noeviction",
        description: "What Redis evicts when memory is full.",
      },
    }),
    secretsSchema: objectSchema({ password: password("Password clients authenticate with.") }, ["password"]),
    detailsSchema: objectSchema(
      {
        hostname: hostnameDetail,
        port: port("Redis port."),
        dsn: { type: "string", description: "Connection URL without the password." },
        ready: readyDetail,
        ...referenceDetails,
      },
      ["ready"],
    ),
    plans: [
      { name: "Small", cpu: 2, memory: 256 },
      { name: "Medium", cpu: 5, memory: 1024 },
      { name: "Large", cpu: 10, memory: 4096 },
    ].map((p, id) => ({
      id,
      name: p.name,
      description: `${p.memory} MiB memory`,
      parameters: {
        memory: { pricedAs: "ram-mib", schema: fixed(p.memory, "Memory in MiB.") },
        cpu: { pricedAs: "cpu-tenths", schema: fixed(p.cpu, "CPU in tenths of a vCPU.") },
      },
    })),
    // The same S3 store settings as postgresql's backups.
    backups: postgresql[0]!.backups,
  });

  const s3 = entry({
    name: "s3",
    version: "v1",
    category: "Storage",
    displayName: "Object Storage",
    description: "S3-compatible object storage for persisting unstructured data artifacts",
    iconUrl: icon("S3", "#569a31"),
    // The core catalog lists s3 v1 without pause; the platform guide says an
    // Object Store keeps its data across a pause, and that is what users try
    // here, so the reference catalog lets it pause (docs/decisions/004;
    // sdk/contract-notes.ts lists it).
    capabilities: { pause: true, backups: false, pointInTimeRecovery: false },
    configSchema: objectSchema(
      {
        accessKey: {
          description: "Has to be cluster-unique. Exactly 20 uppercase letters (A-Z) or digits (0-9).",
          pattern: "^[A-Z0-9]{20}$",
          type: "string",
          "x-update-constraint": "immutable",
        },
        initialBucketName: {
          description:
            "Has to be cluster-unique. If the bucket name is already taken, no bucket will be created. You can still create more buckets later. Only lowercase letters, digits, hyphens, and periods are allowed. Must start and end with a letter or digit. Hyphens and periods cannot be adjacent to each other or repeated. Between 3 and 63 characters.",
          // The core pattern uses lookaround, which the control plane's RE2 refuses;
          // this pair accepts exactly the same names (catalog.core.test.ts checks it).
          ...S3_BUCKET_NAME,
          type: "string",
          "x-update-constraint": "immutable",
        },
        userDisplayName: {
          default: "My S3 User",
          readOnly: false,
          type: "string",
          "x-update-constraint": "immutable",
        },
      },
      ["accessKey", "initialBucketName"],
    ),
    secretsSchema: objectSchema(
      {
        secretKey: {
          description: "Exactly 40 alphanumeric characters (a-z, A-Z, 0-9).",
          format: "password",
          pattern: "^[a-zA-Z0-9]{40}$",
          type: "string",
          writeOnly: true,
        },
      },
      ["secretKey"],
    ),
    detailsSchema: objectSchema(
      {
        url: { format: "uri", type: "string" },
        userId: { type: "string" },
        endpoint: {
          type: "string",
          description: "EXTENSION (reference backends): the S3 endpoint URL (path-style requests).",
        },
        bucket: {
          type: "string",
          description:
            "EXTENSION (reference backends): the bucket made at create (absent when its name was taken).",
        },
        region: {
          type: "string",
          description: "EXTENSION (reference backends): the region to sign requests for.",
        },
        ready: readyDetail,
        ...referenceDetails,
      },
      ["url", "userId"],
    ),
    plans: [
      {
        id: 0,
        name: "Generic",
        description: "Allows all parameters to be freely modified",
        parameters: {
          maxBuckets: s3Limit(50, 1000, "Maximum Number of Buckets", true),
          maxObjects: s3Limit(100_000, 10_000_000, "Maximum Number of Objects", true),
          maxReadBytesPerS: s3Limit(
            100_000_000,
            10_000_000_000,
            "Maximum Download Speed in Bytes per Second",
          ),
          maxReadOpsPerS: s3Limit(1000, 10_000, "Maximum Read Operations per Second"),
          maxSizeKb: s3Limit(10_000_000, 10_000_000_000, "Storage (KB)", true),
          maxWriteBytesPerS: s3Limit(100_000_000, 10_000_000_000, "Maximum Upload Speed in Bytes per Second"),
          maxWriteOpsPerS: s3Limit(1000, 10_000, "Maximum Write Operations per Second"),
        },
      },
    ],
    backups: {
      configSchema: objectSchema(
        {
          accessKeyId: {
            description: "S3 access key for authentication at the backup store.",
            type: "string",
          },
          endpointUrl: {
            description:
              'S3-compatible endpoint URL for the backup storage, e.g. "http://rgw-load-balancer.rook-ceph.svc.cluster.local"',
            format: "uri",
            type: "string",
          },
          path: {
            description:
              'S3 path (bucket name with optional subpath), without s3://, e.g. "my-bucket/backups"',
            type: "string",
          },
        },
        ["endpointUrl", "accessKeyId", "path"],
      ),
      secretsSchema: objectSchema(
        {
          secretKey: {
            description: "S3 secret key for authentication at the backup store",
            format: "password",
            type: "string",
            writeOnly: true,
          },
        },
        ["secretKey"],
      ),
    },
  });

  const babelfish = entry({
    name: "babelfish",
    version: "v1",
    category: "Database",
    displayName: "Babelfish for PostgreSQL",
    description: "PostgreSQL that also speaks SQL Server's TDS protocol.",
    iconUrl: icon("Bf", "#1f6feb"),
    capabilities: databaseCapabilities,
    configSchema: coreDatabaseConfig(
      ["4.5", "4.4", "3.8", "3.7"],
      "Babelfish version (4.x runs on PostgreSQL 16, 3.x on 15); may move to a newer minor of the same major only.",
    ),
    secretsSchema: coreDatabaseSecrets,
    detailsSchema: objectSchema(
      {
        hostname: hostnameDetail,
        port: port("TDS (SQL Server protocol) port."),
        pgPort: port("PostgreSQL protocol port."),
        dsn: { type: "string", description: "TDS connection URL without the password." },
        ready: readyDetail,
        ...referenceDetails,
      },
      ["ready"],
    ),
    plans: coreDatabasePlans(),
    backups: coreBackupStore,
  });

  return [postgres, ...postgresql, redis, s3, babelfish];
}
