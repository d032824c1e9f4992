/**
 * The bundled provider catalog: the providers the reference control plane
 * offers out of the box, each served by the bundled reference backends
 * (`./reference`) under `${backendBaseUrl}/api/v1/${name}`.
 *
 * - `postgres` v1, `babelfish` v1, `ferretdb` v0, `s3` v1 and `virtual-k8s`
 *   v1 are Codesphere's core catalog, value for value (./catalog-core.ts;
 *   the deliberate differences are listed in sdk/contract-notes.ts and
 *   catalog.core.test.ts holds them against contract/core-catalog.md).
 * - `postgresql` (v14 to v17) is shaped like the published guide's example,
 *   so that its create request works verbatim; `redis` is a cache. Both are
 *   Landform's own (also listed as deviations).
 *
 * Every schema is plain JSON Schema (draft 2020-12) plus one vendor keyword,
 * `x-update-constraint`, which says how a value may change after create (see
 * UPDATE_CONSTRAINTS). Details schemas carry EXTENSIONS of the reference
 * backends: `phase` (what the backend is doing); for services that run a real
 * server (postgres, postgresql, redis, s3, ferretdb; see
 * ./reference/engines) `serverVersion` and `restarts`; for simulated ones
 * (babelfish, virtual-k8s, and any whose engine is missing) `simulated: true` and
 * `dataUrl` (the key-value data set that stands in for a server's data).
 *
 * `postgresql` has one endpoint per version (`/api/v1/postgresql/v15`): the
 * contract's create body does not name the provider version, and the version
 * picks the PostgreSQL major the backend starts.
 */

import { coreBabelfish, coreFerretdb, corePostgres, coreS3, coreVirtualK8s } from "./catalog-core";
import {
  type ApiProvider,
  type EntryFields,
  fixed,
  growable,
  hostnameDetail,
  icon,
  objectSchema,
  password,
  port,
  readyDetail,
  referenceDetails,
} from "./catalog-parts";

/**
 * Values of the `x-update-constraint` keyword:
 * - `immutable`: set at create, never changed (changing it means a new service);
 * - `increase-only`: a number that may grow but never shrink (storage);
 * - `minor-upgrade-only`: a "MAJOR.MINOR" version that may move to a newer
 *   minor of the same major, never down and never to another major.
 */
export { UPDATE_CONSTRAINTS, type UpdateConstraint } from "../../sdk/catalog-keywords";
export { S3_BUCKET_NAME } from "./catalog-core";
export { type ApiProvider, SERVICE_PHASES, type ServicePhase } from "./catalog-parts";

const PG_IDENTIFIER = "^[a-z_][a-z0-9_]{0,62}$";

const databaseCapabilities = { pause: true, backups: true, pointInTimeRecovery: true };

// ---------------------------------------------------------------- the catalog

export function bundledCatalog(backendBaseUrl: string, key: string): ApiProvider[] {
  const base = backendBaseUrl.replace(/\/+$/, "");
  const entry = (fields: EntryFields): ApiProvider => ({
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

  const postgres = entry(corePostgres());

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

  return [
    postgres,
    ...postgresql,
    redis,
    entry(coreS3()),
    entry(coreBabelfish()),
    entry(coreFerretdb()),
    entry(coreVirtualK8s()),
  ];
}
