// SQLite only: `landform vault rotate` runs offline on a data dir, whose lock
// proves no control plane uses it; it has no PostgreSQL form (yet).
import { createCipheriv, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rotateVault } from "./rotate";
import { openSqlite } from "./sqlite-open";
import { Store } from "./store";
import { keyId, parseKeyRing, VAULT_KEY_FILE, Vault, writeKeyRing } from "./vault";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "landform-rotate-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every sealed value the database file holds, read past the Store. */
function sealedInDatabase(dir: string): string[] {
  const db = openSqlite(join(dir, "control-plane.sqlite"), { readonly: true });
  try {
    const secrets = db.prepare<[], { sealed: string }>("SELECT sealed FROM secrets").all();
    const meta = db.prepare<[], { value: string }>("SELECT value FROM meta").all();
    return [...secrets.map((r) => r.sealed), ...meta.map((r) => r.value).filter((v) => Vault.isSealed(v))];
  } finally {
    db.close();
  }
}

/** A data dir with two services' secrets, a provider key and two sealed metadata entries, all under `vault`. */
async function populate(dir: string, vault: Vault): Promise<void> {
  const store = await Store.sqlite(dir);
  try {
    await store.transaction(async () => {
      await store.putSealedSecret("svc-1", "service", vault.seal({ userPassword: "pw-one" }, "svc-1"));
      await store.putSealedSecret("svc-1", "backups", vault.seal({ secretKey: "s3-one" }, "svc-1"));
      await store.putSealedSecret("svc-2", "service", vault.seal({ userPassword: "pw-two" }, "svc-2"));
      await store.putSealedSecret("provider:acme", "service", vault.seal("acme-key", "provider:acme"));
      await store.setMeta("dev-token", vault.seal("lf_dev_token", "dev-token"));
      await store.setMeta("reference-backend-key", vault.seal("rb-key", "reference-backend-key"));
      await store.setMeta("plain-note", "not sealed");
    });
  } finally {
    await store.close();
  }
}

async function expectOpenable(dir: string, vault: Vault): Promise<void> {
  const store = await Store.sqlite(dir);
  try {
    expect(vault.open((await store.sealedSecret("svc-1", "service"))!, "svc-1")).toEqual({
      userPassword: "pw-one",
    });
    expect(vault.open((await store.sealedSecret("svc-1", "backups"))!, "svc-1")).toEqual({
      secretKey: "s3-one",
    });
    expect(vault.open((await store.sealedSecret("svc-2", "service"))!, "svc-2")).toEqual({
      userPassword: "pw-two",
    });
    expect(vault.open((await store.sealedSecret("provider:acme", "service"))!, "provider:acme")).toBe(
      "acme-key",
    );
    expect(vault.open((await store.meta("dev-token"))!, "dev-token")).toBe("lf_dev_token");
    expect(vault.open((await store.meta("reference-backend-key"))!, "reference-backend-key")).toBe("rb-key");
    expect(await store.meta("plain-note")).toBe("not sealed");
  } finally {
    await store.close();
  }
}

describe("vault rotation", () => {
  it("re-seals every secret and sealed metadata value with a new key, then drops the old one", async () => {
    const dir = tempDir();
    const before = Vault.open(dir);
    await populate(dir, before);
    const done = await rotateVault(dir, {}, () => Store.sqlite(dir));

    expect(done).toMatchObject({ secrets: 4, meta: 2, retiredKeyIds: [before.activeKeyId] });
    expect(done.newKeyId).not.toBe(before.activeKeyId);
    const after = Vault.open(dir);
    expect(after.keyIds).toEqual([done.newKeyId]);
    expect(statSync(join(dir, VAULT_KEY_FILE)).mode & 0o777).toBe(0o600);
    const kids = sealedInDatabase(dir).map((s) => Vault.keyIdOf(s));
    expect(kids).toHaveLength(6);
    expect(new Set(kids)).toEqual(new Set([done.newKeyId]));
    await expectOpenable(dir, after);
  });

  it("moves values of the v1 format (before key ids) to the new key", async () => {
    const dir = tempDir();
    const legacyKey = randomBytes(32);
    writeKeyRing(join(dir, VAULT_KEY_FILE), [legacyKey]);
    await populate(dir, new Vault([legacyKey]));
    // Rewrite one value as a release before key ids would have stored it.
    const store = await Store.sqlite(dir);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", legacyKey, iv);
    cipher.setAAD(Buffer.from("svc-2"));
    const body = Buffer.concat([cipher.update(JSON.stringify({ userPassword: "pw-two" })), cipher.final()]);
    await store.putSealedSecret(
      "svc-2",
      "service",
      `v1.${iv.toString("base64")}.${cipher.getAuthTag().toString("base64")}.${body.toString("base64")}`,
    );
    await store.close();

    const done = await rotateVault(dir, {}, () => Store.sqlite(dir));
    expect(new Set(sealedInDatabase(dir).map((s) => Vault.keyIdOf(s)))).toEqual(new Set([done.newKeyId]));
    await expectOpenable(dir, Vault.open(dir));
  });

  it("changes nothing when a value cannot be opened, and keeps every key it may need", async () => {
    const dir = tempDir();
    const before = Vault.open(dir);
    await populate(dir, before);
    const store = await Store.sqlite(dir);
    await store.putSealedSecret("svc-9", "service", new Vault([randomBytes(32)]).seal({ p: 1 }, "svc-9"));
    await store.close();
    const sealedBefore = sealedInDatabase(dir);

    await expect(rotateVault(dir, {}, () => Store.sqlite(dir))).rejects.toThrow(
      /cannot open the service secrets of svc-9: sealed secret needs vault key [0-9a-f]{16}, which is not in the key ring; nothing was re-sealed/,
    );
    expect(sealedInDatabase(dir)).toEqual(sealedBefore);
    // The ring gained the new key but kept the old one, so everything still opens.
    const ring = Vault.open(dir);
    expect(ring.keyIds).toHaveLength(2);
    expect(ring.keyIds[1]).toBe(before.activeKeyId);
    await expectOpenable(dir, ring);
  });

  it("finishes on a re-run after a crash between the ring update and the commit", async () => {
    const dir = tempDir();
    const old = Vault.open(dir);
    await populate(dir, old);
    // What a crash right after the first ring write leaves: a new key in front, nothing re-sealed.
    const orphan = randomBytes(32);
    writeKeyRing(join(dir, VAULT_KEY_FILE), [orphan, ...old.ring]);

    const done = await rotateVault(dir, {}, () => Store.sqlite(dir));
    expect(done.retiredKeyIds).toEqual([keyId(orphan), old.activeKeyId]);
    const after = Vault.open(dir);
    expect(after.keyIds).toEqual([done.newKeyId]);
    await expectOpenable(dir, after);
  });

  it("rewrites a key file given with --vault-key-file, and refuses an inline key or a dir without data", async () => {
    const dir = tempDir();
    const file = join(tempDir(), "ring.key");
    const key = randomBytes(32);
    writeKeyRing(file, [key]);
    await populate(dir, new Vault([key]));
    const done = await rotateVault(dir, { keyFile: file }, () => Store.sqlite(dir));
    expect(parseKeyRing(readFileSync(file, "utf8"), file).map(keyId)).toEqual([done.newKeyId]);
    await expectOpenable(dir, Vault.open(dir, { keyFile: file }));

    await expect(
      rotateVault(dir, { key: randomBytes(32).toString("base64") }, () => Store.sqlite(dir)),
    ).rejects.toThrow(/cannot be rotated: put it in a file and pass --vault-key-file/);
    await expect(rotateVault(tempDir(), {}, () => Store.sqlite(dir))).rejects.toThrow(
      /holds no control plane data/,
    );
  });
});
