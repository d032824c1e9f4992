import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { BACKEND_KEY_FILE, backendKey, keptBackendKey, vaultKeySource } from "./keys";

const dir = mkdtempSync(join(tmpdir(), "landform-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMES = { value: "--backend-key", file: "--backend-key-file" };

describe("key options", () => {
  it("take the backend key from a flag, the environment, or a file (trimmed), in that order of naming", () => {
    const file = join(dir, "bk");
    writeFileSync(file, "from-file-Kq3\n", { mode: 0o600 });
    expect(backendKey("flag-key", undefined, {}, NAMES)).toBe("flag-key");
    expect(backendKey(undefined, undefined, { LANDFORM_BACKEND_KEY: "env-key" }, NAMES)).toBe("env-key");
    expect(backendKey(undefined, file, {}, NAMES)).toBe("from-file-Kq3");
    expect(backendKey(undefined, undefined, { LANDFORM_BACKEND_KEY_FILE: file }, NAMES)).toBe(
      "from-file-Kq3",
    );
    expect(backendKey(undefined, undefined, {}, NAMES)).toBeUndefined();
  });

  it("refuse a value and a file for the same key, and name a missing or empty file", () => {
    const file = join(dir, "bk2");
    writeFileSync(file, "k", { mode: 0o600 });
    expect(() => backendKey("v", file, {}, NAMES)).toThrow(
      "give --backend-key (LANDFORM_BACKEND_KEY) or --backend-key-file (LANDFORM_BACKEND_KEY_FILE), not both",
    );
    expect(() =>
      backendKey(undefined, undefined, { LANDFORM_BACKEND_KEY: "v", LANDFORM_BACKEND_KEY_FILE: file }, NAMES),
    ).toThrow(/not both/);
    expect(() => backendKey(undefined, join(dir, "absent"), {}, NAMES)).toThrow(
      `--backend-key-file: cannot read ${join(dir, "absent")} (ENOENT)`,
    );
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n\n", { mode: 0o600 });
    expect(() => backendKey(undefined, empty, {}, NAMES)).toThrow(`--backend-key-file: ${empty} is empty`);
    expect(() => vaultKeySource({ "vault-key": "a", "vault-key-file": file }, {})).toThrow(/not both/);
    expect(vaultKeySource({}, { LANDFORM_VAULT_KEY_FILE: file })).toMatchObject({ keyFile: file });
  });

  it("warn on stderr, without the key, when others may read a key file", () => {
    const file = join(dir, "open");
    writeFileSync(file, "open-key-Zx9", { mode: 0o640 });
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(backendKey(undefined, file, {}, NAMES)).toBe("open-key-Zx9");
      const printed = write.mock.calls.map((c) => String(c[0])).join("");
      expect(printed).toContain(
        `--backend-key-file: ${file} can be read or written by other users (mode 0640)`,
      );
      expect(printed).not.toContain("open-key-Zx9");
    } finally {
      write.mockRestore();
    }
  });

  it("make a backend key once, 0600, and keep it", () => {
    const dataDir = join(dir, "backend-data");
    const first = keptBackendKey(dataDir);
    expect(first.created).toBe(true);
    expect(first.file).toBe(join(dataDir, BACKEND_KEY_FILE));
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.file, "utf8").trim()).toBe(first.key);
    const again = keptBackendKey(dataDir);
    expect(again).toEqual({ ...first, created: false });
  });
});
