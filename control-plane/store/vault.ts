/**
 * Secrets at rest: AES-256-GCM with a key kept in the data dir (mode 0600) or
 * given by flag. The store only ever holds sealed text; plaintext exists in
 * memory just long enough to be sent to a backend.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const KEY_FILE = "vault.key";

export class Vault {
  private constructor(private readonly key: Buffer) {}

  /** The key from `keyBase64` if given, else from `${dataDir}/vault.key`, created (0600) on first use. */
  static open(dataDir: string, keyBase64?: string): Vault {
    if (keyBase64) {
      const key = Buffer.from(keyBase64, "base64");
      if (key.length !== 32) throw new Error("the vault key must be 32 bytes, base64-encoded");
      return new Vault(key);
    }
    const file = join(dataDir, KEY_FILE);
    if (!existsSync(file)) {
      writeFileSync(file, randomBytes(32).toString("base64"), { mode: 0o600, flag: "wx" });
    }
    chmodSync(file, 0o600);
    const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key`);
    return new Vault(key);
  }

  /** Encrypts a JSON value; `context` (e.g. the owner id) is bound as associated data. */
  seal(value: unknown, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
    return [
      "v1",
      iv.toString("base64"),
      cipher.getAuthTag().toString("base64"),
      body.toString("base64"),
    ].join(".");
  }

  open<T = unknown>(sealed: string, context: string): T {
    const [version, iv, tag, body] = sealed.split(".");
    if (version !== "v1" || !iv || !tag || body === undefined)
      throw new Error("sealed secret has an unknown format");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(iv, "base64"));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, "base64"));
    const text = Buffer.concat([decipher.update(Buffer.from(body, "base64")), decipher.final()]).toString(
      "utf8",
    );
    return JSON.parse(text) as T;
  }
}
