/**
 * A provider backend for tests that must see what the control plane sends:
 * a real HTTP server on loopback that keeps services in memory and records
 * every request, headers and body included.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

// biome-ignore lint/suspicious/noExplicitAny: request bodies are whatever the control plane sent
type Json = any;

/**
 * A provider backend on loopback: keeps services in memory (GET ?id=, POST,
 * PATCH /id, DELETE /id of the backend contract), reports them ready, and
 * records every request it gets, headers and body included.
 */
export class RecordingBackend {
  readonly seen: string[] = [];
  readonly services = new Map<string, Json>();
  url = "";
  private constructor(private readonly server: Server) {}

  static async start(): Promise<RecordingBackend> {
    const server = createServer();
    const c = new RecordingBackend(server);
    server.on("request", (req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        c.seen.push(`${req.method} ${req.url}\n${JSON.stringify(req.headers)}\n${body}`);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(c.answer(req.method ?? "GET", req.url ?? "/", body)));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    c.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/postgresql`;
    return c;
  }

  private answer(method: string, url: string, text: string): unknown {
    const u = new URL(url, "http://backend");
    const id = decodeURIComponent(u.pathname.split("/").pop() ?? "");
    const body = text ? JSON.parse(text) : {};
    if (method === "GET") {
      const ids = u.searchParams.getAll("id");
      return Object.fromEntries(
        ids.filter((i) => this.services.has(i)).map((i) => [i, this.services.get(i)]),
      );
    }
    const view = (b: Json, before: Json = {}) => ({
      plan: b.plan ?? before.plan,
      config: b.config ?? before.config,
      pause: b.pause ?? before.pause ?? false,
      details: { ready: true, hostname: "db.internal" },
    });
    if (method === "POST") this.services.set(body.id, view(body));
    else if (method === "PATCH") this.services.set(id, view(body, this.services.get(id)));
    else if (method === "DELETE") this.services.delete(id);
    return {};
  }

  text(): string {
    return this.seen.join("\n----\n");
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}
