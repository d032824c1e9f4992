/**
 * The core catalog's `s3` v1 (see ./catalog-core.ts for the other four and
 * how the differences are listed and tested).
 */
import { type EntryFields, icon, objectSchema, readyExtension, referenceDetails } from "./catalog-parts";

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

export function coreS3(): EntryFields {
  return {
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
        ready: readyExtension,
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
          },
        },
        ["secretKey"],
      ),
    },
  };
}
