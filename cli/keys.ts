/**
 * Key options of `serve`, `backend` and `vault`: each secret from a flag, a
 * file, or the environment (a file keeps it out of `ps`). Giving both the
 * value and a file for the same key is refused rather than guessed.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSecretFile } from "../control-plane/store/secret-file";
import type { VaultKeySource } from "../control-plane/store/vault";

/** Where a secret may come from: the flag's value, a file flag, and their environment variables. */
export interface SecretSources {
  value: string | undefined;
  valueName: string;
  file: string | undefined;
  fileName: string;
}

function pick(s: SecretSources): { value?: string; file?: string } {
  if (s.value && s.file) throw new Error(`give ${s.valueName} or ${s.fileName}, not both`);
  if (s.value) return { value: s.value };
  if (s.file) return { file: s.file };
  return {};
}

export function warnOnStderr(msg: string): void {
  process.stderr.write(`landform: warning: ${msg}\n`);
}

/** The vault key ring's source: `--vault-key`/`LANDFORM_VAULT_KEY` or `--vault-key-file`/`LANDFORM_VAULT_KEY_FILE`. */
export function vaultKeySource(
  flags: { "vault-key"?: string | undefined; "vault-key-file"?: string | undefined },
  env: NodeJS.ProcessEnv,
): VaultKeySource {
  const { value, file } = pick({
    value: flags["vault-key"] ?? env.LANDFORM_VAULT_KEY,
    valueName: "--vault-key (LANDFORM_VAULT_KEY)",
    file: flags["vault-key-file"] ?? env.LANDFORM_VAULT_KEY_FILE,
    fileName: "--vault-key-file (LANDFORM_VAULT_KEY_FILE)",
  });
  return { ...(value ? { key: value } : {}), ...(file ? { keyFile: file } : {}), warn: warnOnStderr };
}

/** The reference backends' key from a flag, `LANDFORM_BACKEND_KEY`, a key file or `LANDFORM_BACKEND_KEY_FILE`; undefined if none. */
export function backendKey(
  value: string | undefined,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  names: { value: string; file: string },
): string | undefined {
  const picked = pick({
    value: value ?? env.LANDFORM_BACKEND_KEY,
    valueName: `${names.value} (LANDFORM_BACKEND_KEY)`,
    file: file ?? env.LANDFORM_BACKEND_KEY_FILE,
    fileName: `${names.file} (LANDFORM_BACKEND_KEY_FILE)`,
  });
  if (picked.file) return readSecretFile(picked.file, names.file, warnOnStderr);
  return picked.value;
}

/** The file `landform backend` keeps the key it made in, when none was given. */
export const BACKEND_KEY_FILE = "backend.key";

/** The key kept in `${dataDir}/backend.key`, made (0600) on first use. */
export function keptBackendKey(dataDir: string): { key: string; file: string; created: boolean } {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, BACKEND_KEY_FILE);
  let created = false;
  if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    created = true;
  }
  return { key: readSecretFile(file, "backend key file", warnOnStderr), file, created };
}
