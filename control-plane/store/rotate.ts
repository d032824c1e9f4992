/**
 * Vault key rotation (`landform vault rotate`): a new active key, every
 * sealed value re-sealed with it in one transaction, then the old keys
 * retired.
 *
 * The order makes a crash at any point harmless and the command safe to run
 * again: the ring file first gains the new key (old keys kept), so whatever
 * the database holds stays openable; the transaction commits all re-sealed
 * values or none; only after the commit is the ring rewritten to the new key
 * alone. A re-run after a crash simply adds another key and finishes.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Store } from "./store";
import { keyRingFile, Vault, type VaultKeySource, writeKeyRing } from "./vault";

export interface RotationResult {
  /** The file that holds the ring (now the new key alone). */
  keyFile: string;
  newKeyId: string;
  retiredKeyIds: string[];
  /** Values re-sealed: rows of the secrets table and sealed metadata entries. */
  secrets: number;
  meta: number;
}

/** The file the control plane's database lives in; rotation refuses a dir without one. */
const DATABASE_FILE = "control-plane.sqlite";

/**
 * Rotates the vault of `dataDir`. `openStore` opens the data dir's store,
 * which must hold it exclusively (no `landform serve` on it) for the whole run.
 */
export async function rotateVault(
  dataDir: string,
  source: VaultKeySource,
  openStore: () => Promise<Store>,
): Promise<RotationResult> {
  const file = keyRingFile(dataDir, source);
  if (!file) {
    throw new Error(
      "a vault key given inline (--vault-key, LANDFORM_VAULT_KEY) cannot be rotated: put it in a file and pass --vault-key-file",
    );
  }
  if (!existsSync(join(dataDir, DATABASE_FILE))) {
    throw new Error(`${dataDir} holds no control plane data (no ${DATABASE_FILE})`);
  }
  if (!existsSync(file)) throw new Error(`no vault key ring at ${file}`);
  const store = await openStore();
  try {
    const old = Vault.open(dataDir, source.keyFile ? { keyFile: file, ...warnOf(source) } : warnOf(source));
    const fresh = randomBytes(32);
    const next = new Vault([fresh, ...old.ring]);
    writeKeyRing(file, next.ring);

    let secrets = 0;
    let meta = 0;
    await store.transaction(async () => {
      for (const row of await store.allSealedSecrets()) {
        const value = opened(next, row.sealed, row.owner, `the ${row.kind} secrets of ${row.owner}`);
        await store.putSealedSecret(row.owner, row.kind, next.seal(value, row.owner));
        secrets++;
      }
      for (const { key, value } of await store.allMeta()) {
        if (!Vault.isSealed(value)) continue;
        await store.setMeta(key, next.seal(opened(next, value, key, `the metadata entry ${key}`), key));
        meta++;
      }
    });

    // Committed: nothing needs the old keys any more.
    writeKeyRing(file, [fresh]);
    return {
      keyFile: file,
      newKeyId: next.activeKeyId,
      retiredKeyIds: old.keyIds,
      secrets,
      meta,
    };
  } finally {
    await store.close();
  }
}

/** Opens one value, naming it (never its content) when it cannot be opened: the rotation then changes nothing. */
function opened(vault: Vault, sealed: string, context: string, what: string): unknown {
  try {
    return vault.open(sealed, context);
  } catch (err) {
    throw new Error(
      `cannot open ${what}: ${err instanceof Error ? err.message : String(err)}; nothing was re-sealed`,
    );
  }
}

function warnOf(source: VaultKeySource): VaultKeySource {
  return source.warn ? { warn: source.warn } : {};
}
