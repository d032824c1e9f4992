/**
 * The S3 engine: one service is one user of the shared S3 server
 * (./s3-gateway.ts) and the buckets that user owns.
 *
 * - Create: a user whose access key is `config.accessKey` and whose secret
 *   is `secrets.secretKey` (role `userplus`, so it may create more buckets,
 *   as the core catalog promises), and the bucket `config.initialBucketName`
 *   owned by it. A name another user already holds gets no bucket (the core
 *   catalog's rule); an access key that already exists is refused.
 * - Pause removes the user, so every request signed with its key is refused
 *   while the objects stay on disk; resume creates it again with the same key
 *   and secret, and the buckets are its own again (ownership is by key).
 * - A new `secretKey` replaces the user's secret in place.
 * - Delete empties and removes every bucket the user owns, then the user.
 *
 * The engine's state (`bucket.json`, never a secret) says which access key
 * the service owns, so a delete still knows it when the service is gone.
 */
import fs from "node:fs";
import path from "node:path";
import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import type { Spec } from "../operations";
import type { Target } from "./driver";
import { hashSecrets } from "./postgres";
import { AdminError, type S3Gateway } from "./s3-gateway";
import type { EngineStatus } from "./service-engine";

const STATE_FILE = "bucket.json";
const ROLE = "userplus";

interface BucketState {
  initialized: boolean;
  accessKey?: string;
  /** The bucket made at create; null when its name was taken. */
  bucket?: string | null;
  /** Whether the user exists on the server now (false while paused). */
  active: boolean;
  secretsHash?: string;
  spec?: Spec;
}

export class BucketEngine {
  error: string | undefined;
  readonly driver: { label: string };

  private constructor(
    readonly dir: string,
    private readonly gateway: S3Gateway,
    private state: BucketState,
  ) {
    this.driver = { label: gateway.label };
  }

  static open(dir: string, gateway: S3Gateway): BucketEngine {
    let state: BucketState;
    try {
      state = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), "utf8")) as BucketState;
    } catch {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      state = { initialized: false, active: false };
    }
    const engine = new BucketEngine(dir, gateway, state);
    engine.save();
    return engine;
  }

  status(): EngineStatus & { endpoint: string; bucket?: string | null } {
    return {
      port: Number(new URL(this.gateway.endpoint).port) || 0,
      live: this.gateway.live && this.state.active,
      restarts: 0,
      serverVersion: this.gateway.label,
      endpoint: this.gateway.endpoint,
      ...(this.state.bucket === undefined ? {} : { bucket: this.state.bucket }),
      ...(this.state.spec ? { spec: this.state.spec } : {}),
      ...(this.state.secretsHash ? { secretsHash: this.state.secretsHash } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** Counted by the gateway's own restarts, not per service. */
  countRestart(): void {}

  async converge(target: Target): Promise<void> {
    await this.gateway.ensure();
    const accessKey = String(target.config.accessKey ?? "");
    const secret = String(target.secrets.secretKey ?? "");
    // A user this service made on an earlier, cut-short attempt is its own (the key is saved right after).
    if (!this.state.initialized && this.state.accessKey !== accessKey) {
      try {
        await this.createUser(accessKey, secret);
      } catch (err) {
        if (err instanceof AdminError && /UserExists|already exists/i.test(`${err.code} ${err.message}`)) {
          throw new Error(
            "config.accessKey: this access key already belongs to another user of the S3 server",
          );
        }
        throw err;
      }
      this.state = { ...this.state, accessKey, active: true, secretsHash: hashSecrets(target.secrets) };
      this.save();
    }
    if (!this.state.initialized) {
      const bucket = String(target.config.initialBucketName ?? "");
      try {
        await this.gateway.admin(`${encodeURIComponent(bucket)}/create`, "", { "x-vgw-owner": accessKey });
        this.state.bucket = bucket;
      } catch (err) {
        if (!(err instanceof AdminError) || !/BucketAlready(Exists|OwnedByYou)/.test(err.code)) throw err;
        // Ours from a cut-short attempt, or taken: the core catalog's rule is no bucket then.
        this.state.bucket = (await this.ownedBuckets(accessKey)).includes(bucket) ? bucket : null;
      }
      this.state.initialized = true;
      this.save();
    }
    if (target.spec.pause) {
      if (this.state.active) {
        await this.deleteUser(accessKey);
        this.state.active = false;
      }
    } else if (!this.state.active) {
      await this.createUser(accessKey, secret).catch(async (err: unknown) => {
        // Created by a converge cut short before it could say so.
        if (err instanceof AdminError && /UserExists|already exists/i.test(`${err.code} ${err.message}`)) {
          await this.updateSecret(accessKey, secret);
        } else throw err;
      });
      this.state.active = true;
    } else if (this.state.secretsHash !== hashSecrets(target.secrets)) {
      await this.updateSecret(accessKey, secret);
    }
    this.state.secretsHash = hashSecrets(target.secrets);
    this.state.spec = target.spec;
    this.save();
    this.error = undefined;
  }

  /** Nothing runs per service: pause is done by converge. */
  async stop(): Promise<void> {}

  /** Empties and removes the user's buckets, removes the user and the folder. */
  async destroy(): Promise<void> {
    const accessKey = this.state.accessKey;
    if (accessKey) {
      await this.gateway.ensure();
      for (const bucket of await this.ownedBuckets(accessKey)) await this.removeBucket(bucket);
      await this.deleteUser(accessKey);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The buckets whose owner is `accessKey` (the admin API lists every bucket with its owner). */
  private async ownedBuckets(accessKey: string): Promise<string[]> {
    const listing = await this.gateway.admin("list-buckets");
    return [...listing.matchAll(/<Name>([^<]*)<\/Name>\s*<Owner>([^<]*)<\/Owner>/g)]
      .filter((m) => unescapeXml(m[2]!) === accessKey)
      .map((m) => unescapeXml(m[1]!));
  }

  private async removeBucket(bucket: string): Promise<void> {
    const s3 = this.gateway.root();
    for (;;) {
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      for (const u of uploads.Uploads ?? []) {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
      }
      if (!uploads.IsTruncated) break;
    }
    for (;;) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  }

  private async createUser(accessKey: string, secret: string): Promise<void> {
    const body =
      `<Account><Access>${escapeXml(accessKey)}</Access><Secret>${escapeXml(secret)}</Secret>` +
      `<Role>${ROLE}</Role><UserID>0</UserID><GroupID>0</GroupID><ProjectID>0</ProjectID></Account>`;
    await this.gateway.admin("create-user", body);
  }

  private async updateSecret(accessKey: string, secret: string): Promise<void> {
    const body = `<MutableProps><Secret>${escapeXml(secret)}</Secret><Role>${ROLE}</Role></MutableProps>`;
    await this.gateway.admin(`update-user?access=${encodeURIComponent(accessKey)}`, body);
  }

  private async deleteUser(accessKey: string): Promise<void> {
    try {
      await this.gateway.admin(`delete-user?access=${encodeURIComponent(accessKey)}`);
    } catch (err) {
      if (!(err instanceof AdminError) || !/NotFound|NoSuchUser/i.test(err.code)) throw err;
    }
  }

  private save(): void {
    const file = path.join(this.dir, STATE_FILE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(this.state), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}
