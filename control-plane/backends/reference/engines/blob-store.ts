/**
 * Binary objects in the team's backup store, for the backups of real engines
 * (base backups, WAL segments, Redis snapshots): ../backup-store.ts speaks
 * JSON text only, and its client is its own. Same settings, same
 * path-style addressing; every failure becomes a `BackupStoreError` whose
 * message names the store and the object, never a credential.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { BackupStoreError, objectUrl, type StoreLocation, type StoreSettings, scrub } from "../backup-store";

/** Objects here can be large (a base backup); one request may take this long. */
const REQUEST_TIMEOUT_MS = 120_000;

export class BlobStore {
  readonly location: StoreLocation;
  private readonly client: S3Client;
  private readonly secret: string;

  constructor(settings: StoreSettings) {
    this.location = settings.location;
    this.secret = settings.secretAccessKey;
    this.client = new S3Client({
      endpoint: settings.location.endpoint,
      region: settings.location.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      maxAttempts: 2,
      requestHandler: {
        connectionTimeout: 3_000,
        requestTimeout: REQUEST_TIMEOUT_MS,
        throwOnRequestTimeout: true,
      },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  close(): void {
    this.client.destroy();
  }

  /** Writes `body` at `key`; with `onlyNew`, "exists" when an object is already there (If-None-Match). */
  async put(
    key: string,
    body: Buffer | string,
    opts: { onlyNew?: boolean; metadata?: Record<string, string>; contentType?: string } = {},
  ): Promise<"written" | "exists"> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: key,
          Body: body,
          ContentType: opts.contentType ?? "application/octet-stream",
          ...(opts.metadata ? { Metadata: opts.metadata } : {}),
          ...(opts.onlyNew ? { IfNoneMatch: "*" } : {}),
        }),
      );
      return "written";
    } catch (err) {
      if (opts.onlyNew && status(err) === 412) return "exists";
      throw this.fail(err, "writing", key);
    }
  }

  /** The object's bytes, or undefined when there is none at `key`. */
  async get(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch (err) {
      if (missing(err)) return undefined;
      throw this.fail(err, "reading", key);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: key }));
      return true;
    } catch (err) {
      if (missing(err)) return false;
      throw this.fail(err, "reading", key);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: key }));
    } catch (err) {
      if (missing(err)) return;
      throw this.fail(err, "deleting", key);
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
      throw this.fail(err, "listing", prefix);
    }
    return keys;
  }

  /** Our own message: what, where and the HTTP status or network code; never an SDK message. */
  private fail(err: unknown, doing: string, key: string): BackupStoreError {
    const where = objectUrl(this.location, key);
    const code = status(err);
    const message =
      code === undefined
        ? `the backup store at ${this.location.endpoint} is unreachable while ${doing} ${where}`
        : `the backup store at ${this.location.endpoint} failed ${doing} ${where} (HTTP ${code}${name(err)})`;
    return new BackupStoreError(
      scrub(message, [this.secret]),
      code === undefined ? "unreachable" : code === 403 ? "credentials" : "store",
    );
  }
}

function status(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return typeof meta?.httpStatusCode === "number" ? meta.httpStatusCode : undefined;
}

function name(err: unknown): string {
  const n = (err as { name?: unknown } | undefined)?.name;
  return typeof n === "string" && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(n) && n !== "Error" ? ` ${n}` : "";
}

function missing(err: unknown): boolean {
  const n = (err as { name?: unknown } | undefined)?.name;
  return n === "NoSuchKey" || n === "NotFound" || (status(err) === 404 && n !== "NoSuchBucket");
}
