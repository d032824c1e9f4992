/**
 * Secrets read from files (`--vault-key-file`, `--backend-key-file`, ...), so
 * they need not be on the command line where `ps` shows them to every user.
 */
import { readFileSync, statSync } from "node:fs";

/**
 * The file's text without surrounding whitespace. Throws naming `what` and the
 * file when it is missing or empty (never quoting its content); calls `warn`
 * when users other than the owner may read it. Not refused: secret mounts
 * (Kubernetes, Docker) are often 0644 inside a container only one user runs in.
 */
export function readSecretFile(path: string, what: string, warn?: (msg: string) => void): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${what}: cannot read ${path} (${code ?? "unknown error"})`);
  }
  if ((mode & 0o077) !== 0) {
    warn?.(
      `${what}: ${path} can be read or written by other users (mode ${(mode & 0o777).toString(8).padStart(4, "0")}); chmod 600 it`,
    );
  }
  const text = readFileSync(path, "utf8").trim();
  if (!text) throw new Error(`${what}: ${path} is empty`);
  return text;
}
