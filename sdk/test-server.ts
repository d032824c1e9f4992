/**
 * Test helper: a real node:http server on 127.0.0.1 with scripted answers,
 * recording every request (and which socket carried it). Not part of the SDK.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { ManagedService, Provider } from "./schemas";

export interface RecordedRequest {
  method: string;
  /** Path without the query, e.g. `/api/managed-services`. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Which connection carried it: 1 for the first socket, 2 for the next... */
  socket: number;
  /** `Date.now()` on arrival. */
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON unless it is a string. */
  body?: unknown;
  /** Never answer (the request hangs until the client gives up). */
  hang?: boolean;
  /** Destroy the connection without answering. */
  destroy?: boolean;
}

export type Handler = (req: RecordedRequest, index: number) => Reply | Promise<Reply>;

export interface TestServer {
  /** e.g. `http://127.0.0.1:41234/api`. */
  baseUrl: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Starts a server that answers with `script[i]` for the i-th request (or calls the handler). */
export async function startServer(
  script: Handler | Reply[],
  options: { port?: number } = {},
): Promise<TestServer> {
  const handler: Handler = Array.isArray(script)
    ? (_req, i) => script[i] ?? { status: 500, body: { status: 500, title: "Unscripted", traceId: "test" } }
    : script;
  const requests: RecordedRequest[] = [];
  const sockets = new Map<Socket, number>();
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://test");
    const recorded: RecordedRequest = {
      method: req.method ?? "",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      socket: sockets.get(req.socket) ?? 0,
      at: Date.now(),
    };
    requests.push(recorded);
    const reply = await handler(recorded, requests.length - 1);
    if (reply.destroy) {
      req.socket.destroy();
      return;
    }
    if (reply.hang) return;
    const status = reply.status ?? 200;
    const headers: Record<string, string> = { ...reply.headers };
    let body = "";
    if (reply.body !== undefined) {
      body = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === "content-type")) {
        headers["content-type"] = typeof reply.body === "string" ? "text/plain" : "application/json";
      }
    }
    res.writeHead(status, headers);
    res.end(body);
  });
  server.on("connection", (socket) => sockets.set(socket, sockets.size + 1));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/api`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nobody listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const SERVICE_ID = "8316ee2f-87f8-424e-b925-7382dc50d662";

/** A valid `ManagedService` answer, synchronized unless overridden. */
export function managedService(overrides: Partial<ManagedService> = {}): ManagedService {
  return {
    id: SERVICE_ID,
    provider: { name: "postgresql", version: "v15", schemaVersion: "v15" },
    name: "orders-db",
    backups: { enabled: false, entries: [] },
    pause: false,
    plan: { id: 0, parameters: { storage: 1024 } },
    createdAt: "2025-01-01T00:00:00Z",
    config: {},
    status: { state: "synchronized", detailsRef: `details/${SERVICE_ID}` },
    ...overrides,
  };
}

/** A valid `Provider` answer. */
export function provider(): Provider {
  return {
    name: "postgresql",
    version: "v15",
    schemaVersion: "v15",
    author: "Codesphere",
    category: "databases",
    description: "PostgreSQL",
    displayName: "PostgreSQL",
    iconUrl: "https://example.com/pg.svg",
    configSchema: {},
    detailsSchema: {},
    secretsSchema: {},
    plans: [
      { id: 0, name: "small", description: "", parameters: { storage: { schema: { type: "integer" } } } },
    ],
    backend: { landscape: { gitUrl: "https://example.com/pg.git" } },
  };
}

/** A Problem body as the API sends it. */
export function problem(status: number, title: string, detail?: string, traceId = "abc123"): Reply {
  return { status, body: { status, title, ...(detail === undefined ? {} : { detail }), traceId } };
}
