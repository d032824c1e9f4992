/**
 * A loopback TCP proxy that loses an answer on purpose: it forwards every
 * request to the target, but for the requests `drop` picks it waits until the
 * server has answered and then closes the client's connection instead of
 * passing the answer on, as a network that fails at the worst moment would.
 * It reads just enough HTTP/1.1 (heads and Content-Length) to tell requests
 * and answers apart, and records both for the test to check.
 */
import net from "node:net";

export interface SeenRequest {
  method: string;
  path: string;
  /** The Idempotency-Key header, if sent. */
  key?: string;
  /** Whether the proxy withheld the answer. */
  dropped: boolean;
  /** The answer's status (also for a dropped one: the server did answer). */
  status?: number;
  /** Whether the answer carried `Idempotent-Replayed: true`. */
  replayed?: boolean;
}

export type DropRule = (request: SeenRequest, index: number) => boolean;

export class DroppingProxy {
  readonly requests: SeenRequest[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly url: string,
  ) {}

  /** Listens on a free loopback port and forwards to `target` (e.g. http://127.0.0.1:1234). */
  static async start(target: string, drop: DropRule): Promise<DroppingProxy> {
    const { hostname, port } = new URL(target);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = new DroppingProxy(server, `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    server.on("connection", (client) => proxy.relay(client, hostname, Number(port), drop));
    return proxy;
  }

  private relay(client: net.Socket, host: string, port: number, drop: DropRule): void {
    const upstream = net.connect(port, host);
    this.track(client);
    this.track(upstream);
    // Requests on this connection still waiting for their answer, oldest first.
    const pending: SeenRequest[] = [];
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", closeBoth);
    upstream.on("error", closeBoth);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());

    const readRequests = messages((head) => {
      const [requestLine = "", ...lines] = head.split("\r\n");
      const [method = "", path = ""] = requestLine.split(" ");
      const key = header(lines, "idempotency-key");
      const seen: SeenRequest = { method, path, dropped: false, ...(key === undefined ? {} : { key }) };
      seen.dropped = drop(seen, this.requests.length);
      this.requests.push(seen);
      pending.push(seen);
    });
    const readAnswers = messages((head) => {
      const [statusLine = "", ...lines] = head.split("\r\n");
      const seen = pending.shift();
      if (!seen) return;
      seen.status = Number(statusLine.split(" ")[1]);
      seen.replayed = header(lines, "idempotent-replayed") === "true";
      // The server has answered (its write is done): now lose the answer.
      if (seen.dropped) closeBoth();
    });

    client.on("data", (chunk: Buffer) => {
      readRequests(chunk);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      // Without pipelining, an answer belongs to the oldest pending request.
      const withheld = pending[0]?.dropped === true;
      readAnswers(chunk);
      if (!withheld && !client.destroyed) client.write(chunk);
    });
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Splits an HTTP/1.1 byte stream into messages, calling `onHead` with each head (bodies sized by Content-Length). */
function messages(onHead: (head: string) => void): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  let bodyLeft = 0;
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, buffer.length);
        buffer = buffer.subarray(n);
        bodyLeft -= n;
        if (bodyLeft > 0) return;
      }
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString("latin1");
      buffer = buffer.subarray(end + 4);
      bodyLeft = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      onHead(head);
    }
  };
}

function header(lines: string[], name: string): string | undefined {
  const prefix = `${name}:`;
  const line = lines.find((l) => l.toLowerCase().startsWith(prefix));
  return line?.slice(prefix.length).trim();
}
