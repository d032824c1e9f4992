/**
 * Secrets at rest: AES-256-GCM under a key ring. The store only ever holds
 * sealed text; plaintext exists in memory just long enough to be sent to a
 * backend.
 *
 * Sealed format: `v2.<kid>.<iv>.<tag>.<ciphertext>` (base64 parts; the kid is
 * hex). The kid names the key that sealed the value, so a ring can hold the
 * active key and older ones that values still need, and `landform vault
 * rotate` can move every value to a new key. The kid is derived from the key
 * (a SHA-256 prefix under a fixed label), so a ring file need not name kids and
 * can never name them wrong. `v1.<iv>.<tag>.<ciphertext>` values (before key
 * ids) are still opened: GCM authenticates, so each key of the ring is tried.
 *
 * Key ring text (a file, or `--vault-key`): one base64 32-byte key per line
 * (commas also separate), the active key first; blank lines and `#` comments
 * are ignored. A file of one key (the `vault.key` of earlier releases) is a
 * ring of one.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { readSecretFile } from "./secret-file";

/** The ring's file in the data dir when no other key source is given. */
export const VAULT_KEY_FILE = "vault.key";

const KEY_BYTES = 32;
const IV_BYTES = 12;
/** Full-length GCM tags only: a shorter tag would be accepted by Node unless refused here. */
const TAG_BYTES = 16;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const KID = /^[0-9a-f]{16}$/;

/** Where the key ring comes from: inline text, a file, or (neither) `vault.key` in the data dir. */
export interface VaultKeySource {
  /** Key ring text (`--vault-key`, `LANDFORM_VAULT_KEY`). */
  key?: string;
  /** File holding the key ring (`--vault-key-file`, `LANDFORM_VAULT_KEY_FILE`). */
  keyFile?: string;
  /** Told when a key file can be read by other users. */
  warn?: (msg: string) => void;
}

/** The id of a key as it appears in sealed values. */
export function keyId(key: Buffer): string {
  return createHash("sha256").update("landform vault key id\n").update(key).digest("hex").slice(0, 16);
}

/** Parses key ring text; throws naming `source` and the entry's position, never its content. */
export function parseKeyRing(text: string, source: string): Buffer[] {
  const entries = text
    .split("\n")
    .filter((line) => !line.trim().startsWith("#"))
    .flatMap((line) => line.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error(`${source}: holds no key`);
  const keys = entries.map((entry, i) => {
    const key = Buffer.from(entry, "base64");
    if (!BASE64.test(entry) || key.length !== KEY_BYTES) {
      throw new Error(`${source}: key ${i + 1} is not ${KEY_BYTES} bytes of base64`);
    }
    return key;
  });
  const ids = keys.map(keyId);
  if (new Set(ids).size !== ids.length) throw new Error(`${source}: names the same key twice`);
  return keys;
}

/** Key ring text for a file: the active key first. */
export function formatKeyRing(keys: readonly Buffer[]): string {
  return [
    "# landform vault key ring: one base64 32-byte key per line, the active key first;",
    "# older keys stay until `landform vault rotate` has re-sealed every value.",
    ...keys.map((k) => k.toString("base64")),
    "",
  ].join("\n");
}

/** The file the ring of `source` lives in, or undefined when it is given inline. */
export function keyRingFile(dataDir: string, source: VaultKeySource = {}): string | undefined {
  if (source.key) return undefined;
  return source.keyFile ?? join(dataDir, VAULT_KEY_FILE);
}

/** Replaces the ring file as a whole (write, fsync, rename): a crash leaves the old ring or the new one. */
export function writeKeyRing(file: string, keys: readonly Buffer[]): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, formatKeyRing(keys), { mode: 0o600 });
  const fd = openSync(temp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  const dir = openSync(dirname(file), "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class Vault {
  private readonly byId: Map<string, Buffer>;

  /** `keys[0]` seals; every key opens what it sealed. */
  constructor(private readonly keys: readonly Buffer[]) {
    if (keys.length === 0) throw new Error("the vault needs at least one key");
    this.byId = new Map(keys.map((k) => [keyId(k), k]));
  }

  /**
   * The ring from `source.key`, else from `source.keyFile`, else from
   * `${dataDir}/vault.key`, which is made (one new key, 0600) on first use.
   * A string is taken as `{ key }` (the form of earlier releases).
   */
  static open(dataDir: string, source: VaultKeySource | string = {}): Vault {
    const s = typeof source === "string" ? { key: source } : source;
    if (s.key) return new Vault(parseKeyRing(s.key, "the vault key"));
    if (s.keyFile)
      return new Vault(parseKeyRing(readSecretFile(s.keyFile, "vault key file", s.warn), s.keyFile));
    const file = join(dataDir, VAULT_KEY_FILE);
    if (!existsSync(file)) {
      writeFileSync(file, formatKeyRing([randomBytes(KEY_BYTES)]), { mode: 0o600, flag: "wx" });
    }
    chmodSync(file, 0o600);
    return new Vault(parseKeyRing(readSecretFile(file, "vault key file"), file));
  }

  /** The id of the key that seals. */
  get activeKeyId(): string {
    return keyId(this.keys[0]!);
  }

  /** The ring's key ids, the active one first. */
  get keyIds(): string[] {
    return this.keys.map(keyId);
  }

  /** The ring's keys, the active one first (for writing the ring file; never log them). */
  get ring(): readonly Buffer[] {
    return this.keys;
  }

  /** Encrypts a JSON value; `context` (e.g. the owner id) is bound as associated data. */
  seal(value: unknown, context: string): string {
    const key = this.keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
    return [
      "v2",
      keyId(key),
      iv.toString("base64"),
      cipher.getAuthTag().toString("base64"),
      body.toString("base64"),
    ].join(".");
  }

  /** Decrypts a value sealed with `context`; throws when it was altered, cut short or sealed elsewhere. */
  open<T = unknown>(sealed: string, context: string): T {
    const parts = sealed.split(".");
    if (parts[0] === "v2" && parts.length === 5) {
      const [, kid, iv, tag, body] = parts as [string, string, string, string, string];
      const key = this.byId.get(kid);
      if (!key) {
        throw new Error(
          KID.test(kid)
            ? `sealed secret needs vault key ${kid}, which is not in the key ring`
            : "sealed secret has a malformed key id",
        );
      }
      return decrypt<T>(key, iv, tag, body, context);
    }
    if (parts[0] === "v1" && parts.length === 4) {
      // No key id: the value predates rotation, so it was sealed with some key of the ring (normally the only one).
      const [, iv, tag, body] = parts as [string, string, string, string];
      for (const key of this.keys) {
        try {
          return decrypt<T>(key, iv, tag, body, context);
        } catch (err) {
          if (err instanceof SealedFormatError) throw err;
        }
      }
      throw new Error("sealed secret (v1) opens with no key of the ring, or was altered");
    }
    throw new SealedFormatError("sealed secret has an unknown format");
  }

  /**
   * Throws, naming the key ids, when some of `values` (sealed or not; only
   * sealed ones count) were sealed with a key the ring lacks: a control plane
   * started with the wrong key ring should say so at once, not on the first
   * request that needs a secret. (v1 values name no key; they are checked when opened.)
   */
  checkKeysFor(values: Iterable<string>): void {
    const missing = new Set<string>();
    for (const value of values) {
      const kid = Vault.keyIdOf(value);
      if (kid && kid !== "v1" && !this.byId.has(kid)) missing.add(kid);
    }
    if (missing.size > 0) {
      throw new Error(
        `the data dir holds secrets sealed with vault key ${[...missing].join(", ")}, which the key ring ` +
          `(${this.keyIds.join(", ")}) lacks: start with the key ring they were sealed with (--vault-key-file)`,
      );
    }
  }

  /** The id of the key that sealed `sealed` ("v1" for values from before key ids). */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split(".");
    if (parts[0] === "v2" && parts.length === 5) return parts[1];
    if (parts[0] === "v1" && parts.length === 4) return "v1";
    return undefined;
  }

  /** Whether `text` has the shape of a sealed value (so metadata can be told apart from sealed metadata). */
  static isSealed(text: string): boolean {
    return Vault.keyIdOf(text) !== undefined;
  }
}

/** The value is malformed (as opposed to sealed with another key): no other key is tried. */
class SealedFormatError extends Error {}

function decrypt<T>(key: Buffer, ivText: string, tagText: string, bodyText: string, context: string): T {
  if (!BASE64.test(ivText) || !BASE64.test(tagText) || !BASE64.test(bodyText)) {
    throw new SealedFormatError("sealed secret is not base64");
  }
  const iv = Buffer.from(ivText, "base64");
  const tag = Buffer.from(tagText, "base64");
  if (iv.length !== IV_BYTES) throw new SealedFormatError(`sealed secret's IV is not ${IV_BYTES} bytes`);
  if (tag.length !== TAG_BYTES) {
    throw new SealedFormatError(`sealed secret's authentication tag is not ${TAG_BYTES} bytes`);
  }
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(tag);
  let text: string;
  try {
    text = Buffer.concat([decipher.update(Buffer.from(bodyText, "base64")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    throw new Error("sealed secret does not authenticate (altered, or sealed for another owner or key)");
  }
  return JSON.parse(text) as T;
}
