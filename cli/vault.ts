/**
 * `landform vault rotate`: a new vault key for a data dir whose control plane
 * is stopped. Prints what it did (counts and key ids), never key material.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { vaultKeySource } from "./keys";

export const VAULT_USAGE = `usage: landform vault rotate [--data-dir DIR] [--vault-key-file FILE]

Makes a new vault key, re-seals every secret of the data dir with it in one
transaction, then drops the old keys. Run it while no \`landform serve\` uses the
data dir; it is safe to run again after an interruption.
  --data-dir DIR        (LANDFORM_DATA_DIR, default .landform/data)
  --vault-key-file FILE (LANDFORM_VAULT_KEY_FILE; default DIR/vault.key) the key ring, rewritten in place
`;

export async function vaultCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "help" || sub === "--help" || sub === "-h" || rest.includes("--help")) {
    process.stdout.write(VAULT_USAGE);
    return 0;
  }
  if (sub !== "rotate") {
    process.stderr.write(
      sub === undefined ? VAULT_USAGE : `landform vault: unknown command "${sub}"\n\n${VAULT_USAGE}`,
    );
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      "data-dir": { type: "string" },
      "vault-key": { type: "string" },
      "vault-key-file": { type: "string" },
    },
  });
  const env = process.env;
  const dataDir = resolve(values["data-dir"] ?? env.LANDFORM_DATA_DIR ?? ".landform/data");
  const source = vaultKeySource(values, env);
  const [{ rotateVault }, { Store }] = await Promise.all([
    import("../control-plane/store/rotate.js"),
    import("../control-plane/store/store.js"),
  ]);
  // The embedded store only: the data dir's lock proves no control plane runs on it.
  const done = await rotateVault(dataDir, source, () => Store.sqlite(dataDir));
  process.stdout.write(
    [
      `vault rotated in ${dataDir}`,
      `  re-sealed: ${done.secrets} secrets, ${done.meta} metadata values`,
      `  active key: ${done.newKeyId}`,
      `  retired keys: ${done.retiredKeyIds.join(", ")}`,
      `  key ring: ${done.keyFile}`,
      "",
    ].join("\n"),
  );
  return 0;
}
