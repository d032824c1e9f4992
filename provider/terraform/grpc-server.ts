/**
 * A unary-only gRPC server on node:http2, which is all go-plugin and
 * Terraform need of the plugin.
 *
 * Terraform starts a new plugin process for every phase of a run, so the
 * plugin's start-up is paid many times per `terraform apply`. Loading
 * @grpc/grpc-js and binding through its resolver cost about 120 ms of the
 * start (measured in bench/plugin-start.ts); node:http2 is part of the
 * runtime and binds at once. The wire format is gRPC over HTTP/2 (the gRPC
 * "PROTOCOL-HTTP2" document): a POST per call, each message prefixed by a
 * compression flag and a 4-byte big-endian length, the outcome in the
 * `grpc-status` trailer. Streaming methods are answered UNIMPLEMENTED, as
 * go-plugin expects of plugins without stdio forwarding or a broker.
 */
import * as http2 from "node:http2";

/** gRPC status codes used here. */
export const Status = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
} as const;

/** One unary method: bytes in, bytes out; a thrown error becomes INTERNAL with its message. */
export type UnaryMethod = (request: Buffer) => Promise<Buffer>;

export interface TlsOptions {
  /** The only certificate a client may present (Terraform's, from PLUGIN_CLIENT_CERT). */
  clientCertPem: string;
  keyPem: string;
  certPem: string;
}

export interface GrpcServer {
  port: number;
  /** Stops accepting calls and waits for open ones to end. */
  close(): Promise<void>;
  /** Ends every connection at once. */
  destroy(): void;
}

/** Largest request accepted, as grpc-js was configured before (Terraform's default is 256 MiB too). */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/** gRPC's percent-encoding of `grpc-message` (printable ASCII except `%` stays). */
function encodeMessage(text: string): string {
  return Array.from(Buffer.from(text, "utf8"))
    .map((b) =>
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");
}

function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The single message of a unary request body, or a status explaining why there is none. */
function unframe(body: Buffer): Buffer | { code: number; message: string } {
  if (body.length < 5) return { code: Status.INTERNAL, message: "request has no complete gRPC message" };
  if (body[0] !== 0) {
    return {
      code: Status.UNIMPLEMENTED,
      message: "compressed messages are not supported (grpc-encoding identity only)",
    };
  }
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length)
    return { code: Status.INTERNAL, message: "request is not exactly one gRPC message" };
  return body.subarray(5);
}

function answer(stream: http2.ServerHttp2Stream, code: number, message: string, body?: Buffer): void {
  if (stream.destroyed || stream.closed) return; // the client gave up (cancelled or timed out)
  const trailers: http2.OutgoingHttpHeaders = { "grpc-status": String(code) };
  if (message) trailers["grpc-message"] = encodeMessage(message);
  if (!body) {
    // Trailers-only response: the status travels in the one HEADERS frame.
    stream.respond({ ":status": 200, "content-type": "application/grpc", ...trailers }, { endStream: true });
    return;
  }
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.once("wantTrailers", () => stream.sendTrailers(trailers));
  stream.end(frame(body));
}

function handle(
  methods: ReadonlyMap<string, UnaryMethod>,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
): void {
  const path = String(headers[":path"] ?? "");
  const method = methods.get(path);
  const contentType = String(headers["content-type"] ?? "");
  if (headers[":method"] !== "POST" || !contentType.startsWith("application/grpc")) {
    stream.respond({ ":status": 415 }, { endStream: true });
    return;
  }
  if (!method) {
    answer(stream, Status.UNIMPLEMENTED, `unknown method ${path}`);
    stream.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_MESSAGE_BYTES + 5) {
      answer(stream, Status.RESOURCE_EXHAUSTED, `request larger than ${MAX_MESSAGE_BYTES} bytes`);
      stream.close(http2.constants.NGHTTP2_CANCEL);
      return;
    }
    chunks.push(chunk);
  });
  stream.on("end", () => {
    if (size > MAX_MESSAGE_BYTES + 5) return;
    const request = unframe(Buffer.concat(chunks));
    if (!Buffer.isBuffer(request)) {
      answer(stream, request.code, request.message);
      return;
    }
    method(request).then(
      (response) => answer(stream, Status.OK, "", response),
      (error: unknown) =>
        answer(stream, Status.INTERNAL, error instanceof Error ? error.message : String(error)),
    );
  });
  // A reset by the client must not become an uncaught error.
  stream.on("error", () => {});
}

/**
 * Serves `methods` (by full path, `/package.Service/Method`) on 127.0.0.1 at a
 * free port: over mutual TLS when `tls` is given, else plain HTTP/2 (only when
 * the client disabled TLS). `onDisconnect` is called whenever the last open
 * connection closes.
 */
export async function serveGrpc(
  methods: ReadonlyMap<string, UnaryMethod>,
  tls?: TlsOptions,
  onDisconnect?: () => void,
): Promise<GrpcServer> {
  const settings = { maxSessionMemory: 64 };
  const server = tls
    ? http2.createSecureServer({
        ...settings,
        key: tls.keyPem,
        cert: tls.certPem,
        ca: tls.clientCertPem,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.2",
      })
    : http2.createServer(settings);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => {
      sessions.delete(session);
      if (sessions.size === 0) onDisconnect?.();
    });
    session.on("error", () => {});
  });
  server.on("stream", (stream, headers) => handle(methods, stream, headers));
  // A client that fails the TLS handshake (no or the wrong certificate) is simply refused.
  server.on("tlsClientError", () => {});
  server.on("sessionError", () => {});
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve((server.address() as { port: number }).port);
    });
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.close();
        server.close(() => resolve());
      }),
    destroy: () => {
      for (const s of sessions) s.destroy();
      server.close();
    },
  };
}
