import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import ts from "typescript";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirLockedError, lockDataDir } from "./lock";
import { Store } from "./store";

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0).reverse()) c();
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "landform-lock-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Another process holding the lock through this very module: lock.ts (and
 * sqlite-open.ts, which it imports) is transpiled to plain JS for a child node (no TypeScript loader there).
 */
async function holder(dataDir: string): Promise<ChildProcess> {
  const work = tempDir();
  for (const name of ["lock", "sqlite-open"]) {
    const source = readFileSync(resolve(__dirname, `${name}.ts`), "utf8");
    const js = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    }).outputText;
    writeFileSync(join(work, `${name}.js`), js);
  }
  const child = spawn(
    process.execPath,
    [
      "-e",
      `require(${JSON.stringify(join(work, "lock.js"))}).lockDataDir(${JSON.stringify(dataDir)});
       process.stdout.write("locked\\n"); setInterval(() => {}, 60000);`,
    ],
    { env: { ...process.env, NODE_PATH: resolve(__dirname, "../../node_modules") }, stdio: "pipe" },
  );
  cleanup.push(() => child.kill("SIGKILL"));
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  await new Promise<void>((ok, fail) => {
    child.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("locked")) ok();
    });
    child.once("exit", (code) => fail(new Error(`holder exited ${code}: ${err}`)));
  });
  return child;
}

describe("data dir lock", () => {
  it("refuses a second process at once, naming the dir and the holder's pid", async () => {
    const dir = tempDir();
    const child = await holder(dir);
    const started = Date.now();
    await expect(Store.sqlite(dir)).rejects.toThrow(DataDirLockedError);
    expect(() => lockDataDir(dir)).toThrow(
      `the data dir ${dir} is in use by another landform process (pid ${child.pid})`,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("is released by the kernel when the holder is killed with SIGKILL", async () => {
    const dir = tempDir();
    const child = await holder(dir);
    expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
    await new Promise<void>((ok) => {
      child.once("exit", () => ok());
      child.kill("SIGKILL");
    });
    const store = await Store.sqlite(dir);
    await store.setMeta("after", "crash");
    expect(await store.meta("after")).toBe("crash");
    expect(readFileSync(join(dir, "landform.pid"), "utf8").trim()).toBe(String(process.pid));
    await store.close();
  });

  it("is shared within a process and let go when its last user closes", async () => {
    const dir = tempDir();
    const release = lockDataDir(dir);
    const store = await Store.sqlite(dir); // the same process: serve opens two stores on one dir
    release();
    release(); // a second call is harmless
    await store.close();
    // Nobody in this process holds it now: another process can take it.
    const child = await holder(dir);
    expect(child.pid).toBeGreaterThan(0);
  });
});
