/**
 * The team's backup store: an S3-compatible bucket reached with the AWS SDK
 * (path-style addressing, so any S3-compatible server works, not only AWS).
 *
 * The backup store's settings arrive with every backup call and with
 * `recoverFrom`; they are the provider's backup config and secrets:
 *
 *   postgres, babelfish   config {endpointUrl, destinationPath, accessKeyId}, secrets {secretKey}
 *   postgresql (docs)     config {endpointUrl, destinationPath}, secrets {accessKey, secretKey}
 *
 * plus an optional `config.region` (default us-east-1). `destinationPath` is
 * `s3://bucket/prefix`; a backup of service MS in team T is the object
 * `prefix/T/MS/BACKUP_ID.json`.
 *
 * Every failure becomes a `BackupStoreError` whose message this module writes
 * itself: it names the store (endpoint and bucket, never a credential) and what
 * went wrong (unreachable, which credential was refused, no such bucket), so
 * it is safe in an answer, the service's `error` and a log line.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { parseDestinationPath, parseEndpointUrl } from "../../../sdk/backup-destination";
import type { Values } from "./operations";

export const DEFAULT_REGION = "us-east-1";

/** Where backups go; nothing secret. */
export interface StoreLocation {
  /** The endpoint's origin, e.g. `http://127.0.0.1:9000`. */
  endpoint: string;
  region: string;
  bucket: string;
  /** Key prefix without leading or trailing slashes; "" for the bucket's root. */
  prefix: string;
}

export interface StoreSettings {
  location: StoreLocation;
  accessKeyId: string;
  secretAccessKey: string;
}

export class BackupStoreError extends Error {
  override name = "BackupStoreError";
  constructor(
    message: string,
    readonly kind: "unreachable" | "credentials" | "bucket" | "store",
  ) {
    super(message);
  }
}

/** Ids that become one segment of an object key. */
const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Whether `id` can be one segment of an object key (letters, digits, '.', '_', '-'). */
export function isKeySegment(id: string): boolean {
  return KEY_SEGMENT.test(id) && id !== "." && id !== "..";
}

function text(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * Reads the backup store's settings from a provider's backup config and
 * secrets. Returns the problems (each naming the field, never its value) or
 * the settings.
 */
export function storeSettings(config: Values, secrets: Values): { problems: string[] } | StoreSettings {
  const problems: string[] = [];
  let endpoint: string | undefined;
  const endpointUrl = text(config.endpointUrl);
  if (!endpointUrl) problems.push("config.endpointUrl: is required");
  else {
    const parsed = parseEndpointUrl(endpointUrl);
    if ("problem" in parsed) problems.push(`config.endpointUrl: ${parsed.problem}`);
    else endpoint = parsed.endpoint;
  }

  let bucket: string | undefined;
  let prefix = "";
  const destinationPath = text(config.destinationPath);
  if (!destinationPath) problems.push("config.destinationPath: is required");
  else {
    const parsed = parseDestinationPath(destinationPath);
    if ("problem" in parsed) problems.push(`config.destinationPath: ${parsed.problem}`);
    else ({ bucket, prefix } = parsed);
  }

  const region = config.region === undefined ? DEFAULT_REGION : text(config.region);
  if (!region) problems.push("config.region: must be a non-empty string");

  // postgres and babelfish name the access key id in config, the docs' postgresql in secrets.
  const accessKeyId =
    text(config.accessKeyId) ??
    text(secrets.accessKey) ??
    text(secrets.accessKeyId) ??
    text(config.accessKey);
  if (!accessKeyId) problems.push("config.accessKeyId (or secrets.accessKey): is required");
  const secretAccessKey = text(secrets.secretKey) ?? text(secrets.secretAccessKey);
  if (!secretAccessKey) problems.push("secrets.secretKey: is required");

  if (problems.length > 0 || !endpoint || !bucket || !region || !accessKeyId || !secretAccessKey) {
    return { problems };
  }
  return { location: { endpoint, region, bucket, prefix }, accessKeyId, secretAccessKey };
}

/** The folder of one team's backups, ending in "/". */
export function teamFolder(location: StoreLocation, teamId: number): string {
  return `${location.prefix === "" ? "" : `${location.prefix}/`}${teamId}/`;
}

/** The folder of one service's backups, ending in "/". */
export function serviceFolder(location: StoreLocation, teamId: number, msId: string): string {
  return `${teamFolder(location, teamId)}${msId}/`;
}

/** The key of one backup object: `prefix/TEAM/MS/BACKUP_ID.json`. */
export function backupKey(location: StoreLocation, teamId: number, msId: string, backupId: string): string {
  return `${serviceFolder(location, teamId, msId)}${backupId}.json`;
}

/** `s3://bucket/key`, for records and log lines. */
export function objectUrl(location: StoreLocation, key: string): string {
  return `s3://${location.bucket}/${key}`;
}

/** How long one request to a backup store may take before it counts as unreachable (ETIMEDOUT). */
export const DEFAULT_STORE_TIMEOUT_MS = 15_000;

/** One connection to a backup store; `close()` it when done. */
export class BackupStore {
  readonly location: StoreLocation;
  private readonly client: S3Client;
  private readonly secrets: string[];

  constructor(settings: StoreSettings, timeoutMs = DEFAULT_STORE_TIMEOUT_MS) {
    this.location = settings.location;
    this.secrets = [settings.secretAccessKey];
    this.client = new S3Client({
      endpoint: settings.location.endpoint,
      region: settings.location.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      maxAttempts: 2,
      // Without throwOnRequestTimeout the SDK only warns, and a store that hangs holds an upload for ever.
      requestHandler: {
        connectionTimeout: Math.min(timeoutMs, 3_000),
        requestTimeout: timeoutMs,
        throwOnRequestTimeout: true,
      },
      // Checksums only where S3 requires them: many S3-compatible stores reject the newer defaults.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  close(): void {
    this.client.destroy();
  }

  /**
   * Writes `body` at `key` unless an object is already there (If-None-Match),
   * so a backup is never written twice. "exists" when one was.
   */
  async putNew(key: string, body: string, metadata: Record<string, string>): Promise<"written" | "exists"> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: key,
          Body: body,
          ContentType: "application/json",
          Metadata: metadata,
          IfNoneMatch: "*",
        }),
      );
      return "written";
    } catch (err) {
      if (statusOf(err) === 412) return "exists";
      throw this.translate(err, "writing", key);
    }
  }

  /** The object's user metadata, or undefined when there is no object at `key`. */
  async head(key: string): Promise<Record<string, string> | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return out.Metadata ?? {};
    } catch (err) {
      if (statusOf(err) === 404 && codeOf(err) !== "NoSuchBucket") return undefined;
      throw this.translate(err, "reading", key);
    }
  }

  /** The object's text, or undefined when there is no object at `key`. */
  async get(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return (await out.Body?.transformToString("utf8")) ?? "";
    } catch (err) {
      if (codeOf(err) === "NoSuchKey" || (statusOf(err) === 404 && codeOf(err) !== "NoSuchBucket")) {
        return undefined;
      }
      throw this.translate(err, "reading", key);
    }
  }

  /** Deletes the object at `key`; deleting what is not there is not an error. */
  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: key }));
    } catch (err) {
      if (codeOf(err) === "NoSuchKey") return;
      throw this.translate(err, "deleting", key);
    }
  }

  /** Every key under `prefix`, in the store's (lexicographic) order. */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.translate(err, "listing", prefix);
    }
    return keys;
  }

  /** Our own message for an SDK failure: what, where, and why, never a credential. */
  private translate(err: unknown, doing: string, key: string): BackupStoreError {
    const { endpoint, bucket } = this.location;
    const where = objectUrl(this.location, key);
    const status = statusOf(err);
    const code = codeOf(err);
    let out: BackupStoreError;
    if (status === undefined) {
      const cause = networkCode(err);
      out = new BackupStoreError(
        `the backup store at ${endpoint} is unreachable (${cause}) while ${doing} ${where}`,
        "unreachable",
      );
    } else if (code === "InvalidAccessKeyId" || code === "XAdminUserNotFound") {
      out = new BackupStoreError(
        `the backup store at ${endpoint} does not know the access key id (${code})`,
        "credentials",
      );
    } else if (code === "SignatureDoesNotMatch") {
      out = new BackupStoreError(
        `the backup store at ${endpoint} rejected the secret key: the request signature does not match (${code})`,
        "credentials",
      );
    } else if (code === "NoSuchBucket") {
      out = new BackupStoreError(`the bucket ${bucket} does not exist at ${endpoint} (${code})`, "bucket");
    } else if (status === 403 || status === 401) {
      out = new BackupStoreError(
        `the backup store at ${endpoint} denied ${doing} ${where} (HTTP ${status}${code ? ` ${code}` : ""}): ` +
          "check the access key id, the secret key and the bucket's permissions",
        "credentials",
      );
    } else {
      out = new BackupStoreError(
        `the backup store at ${endpoint} failed ${doing} ${where} (HTTP ${status}${code ? ` ${code}` : ""})`,
        "store",
      );
    }
    out.message = scrub(out.message, this.secrets);
    return out;
  }
}

function statusOf(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return typeof meta?.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
}

/** The S3 error code (`NoSuchKey`), only if it looks like one. */
function codeOf(err: unknown): string | undefined {
  const e = err as { Code?: unknown; name?: unknown } | undefined;
  const code = typeof e?.Code === "string" ? e.Code : typeof e?.name === "string" ? e.name : undefined;
  const generic = code === "Error" || code === "Unknown" || code === "UnknownError";
  return code && /^[A-Za-z][A-Za-z0-9.]{0,63}$/.test(code) && !generic ? code : undefined;
}

/** ECONNREFUSED, ENOTFOUND, TimeoutError, ...: a system or SDK name, never a message. */
function networkCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; errors?: unknown[] } | undefined;
  const first = Array.isArray(e?.errors) ? (e.errors[0] as { code?: unknown } | undefined) : undefined;
  for (const c of [e?.code, first?.code, e?.name]) {
    if (typeof c === "string" && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(c) && c !== "Error") return c;
  }
  return "no answer";
}

/** Replaces every occurrence of a secret (of 4 characters or more) in `text`. */
export function scrub(text: string, secrets: Iterable<unknown>): string {
  let out = text;
  for (const s of secrets) {
    if (typeof s === "string" && s.length >= 4) out = out.split(s).join("***");
  }
  return out;
}
