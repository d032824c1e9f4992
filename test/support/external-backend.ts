/**
 * `landform backend` in a process and data dir of its own, for suites that
 * kill control planes and must count what the backend was asked to do: it
 * outlives every kill, and its JSON log has one "service created" line per
 * create it performed and one "request" line per call (method, path, status).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "./serve";

export class ExternalBackend {
  url = "";
  readonly lines: Record<string, unknown>[] = [];
  readonly dataDir = mkdtempSync(join(tmpdir(), "landform-ext-backend-"));
  private child: ChildProcess | undefined;

  constructor(
    readonly key: string,
    private readonly operationDelayMs = 10,
  ) {}

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        CLI,
        "backend",
        "--port",
        "0",
        "--data-dir",
        this.dataDir,
        "--key",
        this.key,
        "--operation-delay-ms",
        String(this.operationDelayMs),
      ],
      // Counting operations, not engine behaviour: simulated engines (test/engines.*.test.ts cover real servers).
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LANDFORM_ENGINES: "simulated" } },
    );
    this.child = child;
    let buffer = "";
    let err = "";
    child.stderr!.on("data", (c: Buffer) => {
      err += c.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`landform backend did not start: ${err}`)), 30_000);
      child.stdout!.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          try {
            const rec = JSON.parse(line) as Record<string, unknown>;
            this.lines.push(rec);
            if (rec.msg === "ready" && typeof rec.url === "string") {
              this.url = rec.url;
              clearTimeout(timer);
              resolve();
            }
          } catch {
            // not a JSON line
          }
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`landform backend exited with ${code}: ${err}`));
      });
    });
  }

  /** Ids of the services the backend holds under `provider` (e.g. "postgresql"). */
  async list(provider = "postgresql"): Promise<string[]> {
    const res = await fetch(`${this.url}/api/v1/${provider}`, { headers: { "x-api-key": this.key } });
    if (res.status !== 200) throw new Error(`listing the backend's services: ${res.status}`);
    return (await res.json()) as string[];
  }

  /** How many times the backend created each service id. */
  creates(): Map<string, number> {
    const out = new Map<string, number>();
    for (const l of this.lines) {
      if (l.msg === "service created") out.set(l.id as string, (out.get(l.id as string) ?? 0) + 1);
    }
    return out;
  }

  /** The create calls it answered (method POST on the provider's collection), with their status. */
  createCalls(provider = "postgresql"): Record<string, unknown>[] {
    return this.lines.filter(
      (l) => l.msg === "request" && l.method === "POST" && l.path === `/api/v1/${provider}`,
    );
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
