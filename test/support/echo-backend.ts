/**
 * The backend of the hostile suite's provider (provider backend contract,
 * in memory). Services converge at once, so thousands of them cost the
 * control plane nothing after creation, except those created with
 * `config.size === FAILING_SIZE`: their create is refused with a 500 that
 * echoes the request (secrets and key included) and terminal escapes in
 * 20 KB of text, and they are then reported with an `error` that repeats
 * their password and the key. That text may reach events only scrubbed.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export const FAILING_SIZE = 1013;

interface Held {
  plan: unknown;
  config: { size?: unknown };
  secrets: { password?: unknown };
  pause?: boolean;
}

export class EchoingBackend {
  url = "";
  private readonly held = new Map<string, Held>();
  private readonly server: Server;

  private constructor(private readonly key: string) {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        const [status, answer] = this.answer(
          req.method ?? "GET",
          req.url ?? "/",
          body,
          req.headers["x-api-key"],
        );
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      });
    });
  }

  static async start(key: string): Promise<EchoingBackend> {
    const b = new EchoingBackend(key);
    await new Promise<void>((r) => b.server.listen(0, "127.0.0.1", () => r()));
    b.url = `http://127.0.0.1:${(b.server.address() as AddressInfo).port}/api/v1/hostile`;
    return b;
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }

  private answer(method: string, rawUrl: string, body: string, key: unknown): [number, unknown] {
    const url = new URL(rawUrl, "http://x");
    const id = decodeURIComponent(url.pathname.split("/api/v1/hostile")[1]?.slice(1) ?? "");
    if (method === "POST" && id === "") {
      const sent = JSON.parse(body) as Held & { id: string };
      this.held.set(sent.id, sent);
      if (sent.config.size !== FAILING_SIZE) return [200, {}];
      return [500, { error: `refused with key ${String(key)}: ${body}\u001b[2J\u0000${"e".repeat(20_000)}` }];
    }
    if (method === "GET" && id === "") {
      const ids = url.searchParams.getAll("id");
      if (ids.length === 0) return [200, [...this.held.keys()]];
      const observed: Record<string, unknown> = {};
      for (const wanted of ids) {
        const s = this.held.get(wanted);
        if (!s) continue;
        const failing = s.config.size === FAILING_SIZE;
        const password = String(s.secrets.password);
        observed[wanted] = {
          plan: s.plan,
          config: s.config,
          details: { ready: true },
          ...(s.pause === undefined ? {} : { pause: s.pause }),
          ...(failing
            ? { error: `disk full; login password=${password} (${password}) \u0007 Bearer ${this.key}` }
            : {}),
        };
      }
      return [200, observed];
    }
    const s = this.held.get(id);
    if (!s) return [404, { error: `no service ${id}` }];
    if (method === "PATCH") {
      const change = JSON.parse(body) as Partial<Held>;
      this.held.set(id, { ...s, ...change });
      return [200, {}];
    }
    if (method === "DELETE") {
      this.held.delete(id);
      return [200, {}];
    }
    return [404, { error: "not served here" }];
  }
}
