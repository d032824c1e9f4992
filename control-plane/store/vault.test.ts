import { createCipheriv, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatKeyRing, keyId, parseKeyRing, VAULT_KEY_FILE, Vault } from "./vault";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "landform-vault-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A value in the format of releases before key ids, sealed the way they sealed it. */
function sealV1(key: Buffer, value: unknown, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return ["v1", iv.toString("base64"), cipher.getAuthTag().toString("base64"), body.toString("base64")].join(
    ".",
  );
}

/** Replaces the base64 part at `index` of a sealed value. */
function withPart(sealed: string, index: number, edit: (bytes: Buffer) => Buffer): string {
  const parts = sealed.split(".");
  parts[index] = edit(Buffer.from(parts[index]!, "base64")).toString("base64");
  return parts.join(".");
}

const SECRET = { userPassword: "pw-Tamarind-91" };

describe("the vault", () => {
  it("opens what it sealed, and names the sealing key in the value", () => {
    const key = randomBytes(32);
    const vault = new Vault([key]);
    const sealed = vault.seal(SECRET, "svc-1");
    const parts = sealed.split(".");
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe("v2");
    expect(parts[1]).toBe(keyId(key));
    expect(parts[1]).toMatch(/^[0-9a-f]{16}$/);
    expect(Buffer.from(parts[3]!, "base64")).toHaveLength(16);
    expect(sealed).not.toContain("Tamarind");
    expect(vault.open(sealed, "svc-1")).toEqual(SECRET);
    expect(Vault.keyIdOf(sealed)).toBe(keyId(key));
  });

  it("binds the owner: a value moved to another owner does not open", () => {
    const vault = new Vault([randomBytes(32)]);
    expect(() => vault.open(vault.seal(SECRET, "svc-1"), "svc-2")).toThrow(/does not authenticate/);
  });

  it("keeps old values openable while their key is in the ring, and seals with the active key", () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const sealedOld = new Vault([oldKey]).seal(SECRET, "svc-1");
    const ring = new Vault([newKey, oldKey]);
    expect(ring.open(sealedOld, "svc-1")).toEqual(SECRET);
    expect(Vault.keyIdOf(ring.seal(SECRET, "svc-1"))).toBe(keyId(newKey));
    expect(ring.activeKeyId).toBe(keyId(newKey));
    expect(ring.keyIds).toEqual([keyId(newKey), keyId(oldKey)]);
    // Once the old key is retired, its values no longer open, and the error names the missing key.
    expect(() => new Vault([newKey]).open(sealedOld, "svc-1")).toThrow(
      `sealed secret needs vault key ${keyId(oldKey)}, which is not in the key ring`,
    );
  });

  it("refuses a truncated or altered tag, an altered body, and a short IV", () => {
    const vault = new Vault([randomBytes(32)]);
    const sealed = vault.seal(SECRET, "svc-1");
    for (const bytes of [15, 12, 8, 4, 1, 0]) {
      expect(() =>
        vault.open(
          withPart(sealed, 3, (t) => t.subarray(0, bytes)),
          "svc-1",
        ),
      ).toThrow(/authentication tag is not 16 bytes/);
    }
    expect(() =>
      vault.open(
        withPart(sealed, 3, (t) => Buffer.concat([t, Buffer.from([0])])),
        "svc-1",
      ),
    ).toThrow(/authentication tag is not 16 bytes/);
    const flipped = (b: Buffer) => {
      const c = Buffer.from(b);
      c[0] = c[0]! ^ 1;
      return c;
    };
    expect(() => vault.open(withPart(sealed, 3, flipped), "svc-1")).toThrow(/does not authenticate/);
    expect(() => vault.open(withPart(sealed, 4, flipped), "svc-1")).toThrow(/does not authenticate/);
    expect(() =>
      vault.open(
        withPart(sealed, 2, (iv) => iv.subarray(0, 8)),
        "svc-1",
      ),
    ).toThrow(/IV is not 12/);
    expect(() => vault.open(sealed.replace(/\.[^.]*$/, ".not*base64"), "svc-1")).toThrow(/not base64/);
    expect(() => vault.open("v3.a.b.c.d", "svc-1")).toThrow(/unknown format/);
    expect(() => vault.open(sealed.replace(/^v2\.[0-9a-f]+/, "v2.NOPE"), "svc-1")).toThrow(
      /malformed key id/,
    );
  });

  it("reads v1 values (from before key ids) with any key of the ring, but not with a truncated tag", () => {
    const legacy = randomBytes(32);
    const v1 = sealV1(legacy, SECRET, "svc-1");
    expect(new Vault([legacy]).open(v1, "svc-1")).toEqual(SECRET);
    // After a rotation the legacy key is an older key of the ring.
    expect(new Vault([randomBytes(32), legacy]).open(v1, "svc-1")).toEqual(SECRET);
    expect(Vault.keyIdOf(v1)).toBe("v1");
    expect(() => new Vault([randomBytes(32)]).open(v1, "svc-1")).toThrow(/opens with no key of the ring/);
    // Node would accept a 4-byte tag without authTagLength: a forger needs only 2^32 tries then.
    expect(() =>
      new Vault([legacy]).open(
        withPart(v1, 2, (t) => t.subarray(0, 4)),
        "svc-1",
      ),
    ).toThrow(/authentication tag is not 16 bytes/);
  });
});

describe("a key ring check", () => {
  it("names the keys a data dir's values need that the ring lacks, ignoring values that are not sealed", () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const values = [new Vault([a]).seal(1, "x"), new Vault([b]).seal(2, "y"), "plain", sealV1(a, 3, "z")];
    expect(() => new Vault([a, b]).checkKeysFor(values)).not.toThrow();
    expect(() => new Vault([a]).checkKeysFor(values)).toThrow(
      `the data dir holds secrets sealed with vault key ${keyId(b)}, which the key ring (${keyId(a)}) lacks`,
    );
  });
});

describe("key rings", () => {
  it("are read from lines or commas, active key first, with comments", () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    expect(parseKeyRing(formatKeyRing([a, b]), "f")).toEqual([a, b]);
    expect(parseKeyRing(`${a.toString("base64")}, ${b.toString("base64")}`, "f")).toEqual([a, b]);
    expect(parseKeyRing(`\n# old key below\n${a.toString("base64")}\n\n`, "f")).toEqual([a]);
  });

  it("refuse bad entries by position, never quoting them", () => {
    const a = randomBytes(32).toString("base64");
    expect(() => parseKeyRing(`${a}\nc2hvcnQ=`, "ring.key")).toThrow(
      "ring.key: key 2 is not 32 bytes of base64",
    );
    expect(() => parseKeyRing(`${a}\n${a}`, "ring.key")).toThrow("ring.key: names the same key twice");
    expect(() => parseKeyRing("# nothing\n", "ring.key")).toThrow("ring.key: holds no key");
    let message = "";
    try {
      parseKeyRing(`${a.slice(0, 20)}Zesty!`, "ring.key");
    } catch (err) {
      message = String(err);
    }
    expect(message).toContain("ring.key: key 1 is not 32 bytes of base64");
    expect(message).not.toContain("Zesty");
  });

  it("live in vault.key in the data dir (0600), made on first use and kept", () => {
    const dir = tempDir();
    const first = Vault.open(dir);
    const file = join(dir, VAULT_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = Vault.open(dir);
    expect(again.activeKeyId).toBe(first.activeKeyId);
    expect(again.open(first.seal(SECRET, "x"), "x")).toEqual(SECRET);
  });

  it("read a vault.key of earlier releases (one bare base64 line) as a ring of one", () => {
    const dir = tempDir();
    const key = randomBytes(32);
    writeFileSync(join(dir, VAULT_KEY_FILE), key.toString("base64"), { mode: 0o644 });
    const vault = Vault.open(dir);
    expect(vault.keyIds).toEqual([keyId(key)]);
    expect(vault.open(sealV1(key, SECRET, "x"), "x")).toEqual(SECRET);
    expect(statSync(join(dir, VAULT_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it("come from a key file, with a warning when others can read it, or inline", () => {
    const dir = tempDir();
    const key = randomBytes(32);
    const file = join(dir, "ring.key");
    writeFileSync(file, formatKeyRing([key]), { mode: 0o600 });
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    expect(Vault.open(dir, { keyFile: file, warn }).activeKeyId).toBe(keyId(key));
    expect(warnings).toEqual([]);
    chmodSync(file, 0o644);
    expect(Vault.open(dir, { keyFile: file, warn }).activeKeyId).toBe(keyId(key));
    expect(warnings).toEqual([
      `vault key file: ${file} can be read or written by other users (mode 0644); chmod 600 it`,
    ]);
    expect(warnings.join()).not.toContain(key.toString("base64"));
    expect(() => Vault.open(dir, { keyFile: join(dir, "missing") })).toThrow(
      /cannot read .*missing \(ENOENT\)/,
    );
    expect(Vault.open(dir, { key: key.toString("base64") }).activeKeyId).toBe(keyId(key));
    expect(Vault.open(dir, key.toString("base64")).activeKeyId).toBe(keyId(key));
    // Neither an inline key nor a key file touches the data dir's vault.key.
    expect(() => readFileSync(join(dir, VAULT_KEY_FILE))).toThrow(/ENOENT/);
  });
});
