/** Helpers of the real-engine suites: connecting, waiting, and finding server processes. */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";

/** A PostgreSQL client for a service's details and credentials. */
export async function pgConnect(
  details: Record<string, unknown>,
  user: string,
  password: string,
): Promise<pg.Client> {
  const dsn = new URL(String(details.dsn));
  const client = new pg.Client({
    host: dsn.hostname,
    port: Number(dsn.port),
    database: dsn.pathname.slice(1),
    user,
    password,
    connectionTimeoutMillis: 5_000,
  });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** Retries `fn` until it resolves or `timeoutMs` passes; then throws the last error. */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 20_000, stepMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Pids of the processes whose command line names a path under `dir` (the servers of one data dir). */
export function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const cmdline = fs.readFileSync(path.join("/proc", name, "cmdline"), "utf8");
      const stat = fs.readFileSync(path.join("/proc", name, "stat"), "utf8");
      if (cmdline.includes(dir) && !/\) Z /.test(stat)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The folder of a service's server in a `landform serve` data dir. */
export function engineDir(dataDir: string, provider: string, id: string): string {
  return path.join(dataDir, "engines", provider, encodeURIComponent(id));
}
