/**
 * Starts `landform serve` (the built CLI, as a user runs it) on a free port
 * with its own data dir, and keeps everything it printed for the tests to
 * search (for example for secrets that must never be logged).
 *
 * With LANDFORM_TEST_STORE=postgres (the `integration-postgres` project) the
 * control plane keeps its state in PostgreSQL instead of the data dir: one
 * real server per test file (test/support/postgres.ts, stopped after the
 * file), a fresh database per ServedControlPlane, kept across its restarts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll } from "vitest";
import { startPostgres, type TestPostgres } from "./postgres";

export const ROOT = resolve(__dirname, "..", "..");
export const CLI = join(ROOT, "dist", "cli", "main.js");

/** Which store the suites run against: the embedded SQLite (default) or PostgreSQL. */
export const TEST_STORE: "sqlite" | "postgres" =
  process.env.LANDFORM_TEST_STORE === "postgres" ? "postgres" : "sqlite";

let sharedPostgres: Promise<TestPostgres> | undefined;
if (TEST_STORE === "postgres") {
  afterAll(async () => {
    const server = sharedPostgres;
    sharedPostgres = undefined;
    if (server) await (await server).stop();
  }, 60_000);
}

/** A fresh database on this test file's PostgreSQL server (started on first use). */
export async function testDatabase(): Promise<string> {
  sharedPostgres ??= startPostgres();
  return (await sharedPostgres).createDatabase();
}

export interface ServeOptions {
  dataDir?: string;
  /**
   * The PostgreSQL URL to keep the state in. Default: a fresh database when
   * LANDFORM_TEST_STORE=postgres, else none (SQLite in the data dir); false: SQLite always.
   */
  database?: string | false;
  tokens?: string[];
  operationDelayMs?: number;
  testClock?: boolean;
  extraArgs?: string[];
}

export class ServedControlPlane {
  url = "";
  apiUrl = "";
  /** Base URL of the bundled reference backends (their contract is under /api/v1/<provider>). */
  backendsUrl = "";
  /** Everything the process wrote to stdout and stderr, across restarts. */
  output = "";
  private child: ChildProcess | undefined;
  /** The reference backends' key, so tests can use their data and admin endpoints. */
  readonly backendKey = `backend-key-${process.pid}-${Date.now()}`;
  private keyDir: string | undefined;
  /** The PostgreSQL database the control plane keeps its state in, if any. */
  database: string | undefined;

  /** Calls the reference backends (data and fault-injection endpoints) with their key. */
  async backend(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.backendsUrl}${path}`, {
      method,
      headers: { "x-api-key": this.backendKey, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  private constructor(
    readonly dataDir: string,
    private readonly options: ServeOptions,
    private readonly ownsDataDir: boolean,
  ) {}

  static async start(options: ServeOptions = {}): Promise<ServedControlPlane> {
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "landform-cp-"));
    const cp = new ServedControlPlane(dataDir, options, options.dataDir === undefined);
    if (options.database) cp.database = options.database;
    else if (options.database === undefined && TEST_STORE === "postgres") cp.database = await testDatabase();
    await cp.launch();
    return cp;
  }

  /** (Re)starts the process on the same data dir; the port may change. */
  async launch(): Promise<void> {
    const args = [CLI, "serve", "--port", "0", "--data-dir", this.dataDir];
    for (const t of this.options.tokens ?? []) args.push("--token", t);
    // Moving the clock needs an admin token (api/test-clock.ts): the suite's own, beside its team tokens.
    if (this.options.testClock) args.push("--token", `${this.clockToken}=admin`);
    if (this.options.operationDelayMs !== undefined) {
      args.push("--operation-delay-ms", String(this.options.operationDelayMs));
    }
    if (this.options.testClock) args.push("--test-clock");
    // From a file, as an operator should pass it (a flag shows in `ps`).
    this.keyDir ??= mkdtempSync(join(tmpdir(), "landform-cp-key-"));
    const keyFile = join(this.keyDir, "backend.key");
    writeFileSync(keyFile, `${this.backendKey}\n`, { mode: 0o600 });
    args.push("--backend-key-file", keyFile);
    args.push(...(this.options.extraArgs ?? []));
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      // The URL holds a password: through the environment, as the Kubernetes manifests pass it, not in `ps`.
      env: { ...process.env, ...(this.database ? { LANDFORM_DATABASE: this.database } : {}) },
    });
    this.child = child;
    await new Promise<void>((resolveReady, reject) => {
      let buffer = "";
      const timer = setTimeout(
        () => reject(new Error(`landform serve did not start:\n${this.output}`)),
        30_000,
      );
      child.stdout!.on("data", (chunk: Buffer) => {
        const text = chunk.toString();
        this.output += text;
        buffer += text;
        let nl = buffer.indexOf("\n");
        while (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf("\n");
          try {
            const rec = JSON.parse(line) as {
              msg?: string;
              url?: string;
              apiUrl?: string;
              backendsUrl?: string;
            };
            if (rec.msg === "ready" && rec.url && rec.apiUrl) {
              this.url = rec.url;
              this.apiUrl = rec.apiUrl;
              this.backendsUrl = rec.backendsUrl ?? "";
              clearTimeout(timer);
              resolveReady();
            }
          } catch {
            // not a JSON line
          }
        }
      });
      child.stderr!.on("data", (chunk: Buffer) => {
        this.output += chunk.toString();
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`landform serve exited with ${code}:\n${this.output}`));
      });
    });
  }

  /** Stops the process: SIGTERM for a clean stop, SIGKILL to simulate a crash. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill(signal);
    await exited;
    this.child = undefined;
  }

  async restart(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.stop(signal);
    await this.launch();
  }

  /** Waits until the process has printed something matching `pattern` (stdout and stderr arrive independently). */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`landform serve never printed ${pattern}:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The admin token that moves the clock (with testClock). */
  readonly clockToken = `clock-admin-${randomBytes(12).toString("hex")}`;

  /** Moves the control plane's clock forward (needs testClock); returns the new time (epoch ms). */
  async advanceClock(ms: number): Promise<number> {
    const res = await fetch(`${this.url}/_landform/clock`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.clockToken}`, "content-type": "application/json" },
      body: JSON.stringify({ advanceMs: ms }),
    });
    if (!res.ok) throw new Error(`clock advance failed: ${res.status} ${await res.text()}`);
    return Date.parse(((await res.json()) as { now: string }).now);
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    if (this.keyDir) rmSync(this.keyDir, { recursive: true, force: true });
  }
}
