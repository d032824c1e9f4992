/**
 * Header abuse that fetch would never send: raw HTTP/1.1 over node:net, with
 * duplicated, oversized, malformed and conflicting headers, and garbage
 * request lines. Every request is complete, so the server always owes an answer.
 */

import { connect } from "node:net";
import fc from "fast-check";

export type RawRecipe =
  | { kind: "dupAuth"; first: string; second: string }
  | { kind: "bigHeader"; size: number }
  | { kind: "manyHeaders"; count: number }
  | { kind: "controlInHeader"; code: number }
  | { kind: "dupLength"; a: number; b: number }
  | { kind: "lengthAndChunked" }
  | { kind: "badChunked"; text: string }
  | { kind: "garbageLine"; line: string }
  | { kind: "dupContentType"; body: string }
  | { kind: "unicodeHeaderName"; name: string }
  | { kind: "badTarget"; target: string };

export const rawRecipe: fc.Arbitrary<RawRecipe> = fc.oneof(
  fc.record({
    kind: fc.constant("dupAuth" as const),
    first: fc.constantFrom("Bearer hostile-team-token", "Bearer nope"),
    second: fc.string({ maxLength: 40 }).map((s) => `Bearer ${s.replace(/[\r\n]/g, "")}`),
  }),
  fc.record({ kind: fc.constant("bigHeader" as const), size: fc.integer({ min: 17_000, max: 200_000 }) }),
  fc.record({ kind: fc.constant("manyHeaders" as const), count: fc.integer({ min: 100, max: 5_000 }) }),
  fc.record({
    kind: fc.constant("controlInHeader" as const),
    code: fc.constantFrom(0, 1, 8, 11, 12, 14, 27, 127),
  }),
  fc.record({ kind: fc.constant("dupLength" as const), a: fc.nat({ max: 50 }), b: fc.nat({ max: 50 }) }),
  fc.record({ kind: fc.constant("lengthAndChunked" as const) }),
  fc.record({
    kind: fc.constant("badChunked" as const),
    text: fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, "")),
  }),
  fc.record({
    kind: fc.constant("garbageLine" as const),
    line: fc.string({ unit: "binary", maxLength: 200 }).map((s) => s.replace(/[\r\n]/g, "")),
  }),
  fc.record({ kind: fc.constant("dupContentType" as const), body: fc.constantFrom("{}", "[]", '{"a":1}') }),
  fc.record({
    kind: fc.constant("unicodeHeaderName" as const),
    name: fc.constantFrom("naïve", "名前", "a b", "a:b", "x\u0000y"),
  }),
  fc.record({
    kind: fc.constant("badTarget" as const),
    target: fc.constantFrom(
      "*",
      "http://evil.example/",
      "//x",
      "api",
      "%",
      "/api/managed-services/%ff",
      `/${"a".repeat(9_000)}`,
    ),
  }),
);

/** A route behind the token that answers cheaply (404: no such service) once the token passes. */
const AUTHED = "/api/managed-services/00000000-0000-4000-8000-000000000000/events";
const TOKEN_HEADER = "authorization: Bearer hostile-team-token\r\n";

/** The bytes of a recipe's request. */
export function rawRequest(r: RawRecipe): Buffer {
  const head = (lines: string[], body = "") =>
    Buffer.from(`${lines.join("\r\n")}\r\nhost: localhost\r\nconnection: close\r\n\r\n${body}`, "latin1");
  switch (r.kind) {
    case "dupAuth":
      return head([`GET ${AUTHED} HTTP/1.1`, `authorization: ${r.first}`, `authorization: ${r.second}`]);
    case "bigHeader":
      return head(["GET /health HTTP/1.1", `x-big: ${"b".repeat(r.size)}`]);
    case "manyHeaders":
      return head([
        `GET ${AUTHED} HTTP/1.1`,
        TOKEN_HEADER.trim(),
        ...Array.from({ length: r.count }, (_, i) => `x-h-${i}: v`),
      ]);
    case "controlInHeader":
      return head(["GET /health HTTP/1.1", `x-c: a${String.fromCharCode(r.code)}b`]);
    case "dupLength":
      return head(
        [
          "POST /api/managed-services HTTP/1.1",
          TOKEN_HEADER.trim(),
          `content-length: ${r.a}`,
          `content-length: ${r.b}`,
        ],
        "x".repeat(Math.max(r.a, r.b)),
      );
    case "lengthAndChunked":
      return head(
        [
          "POST /api/managed-services HTTP/1.1",
          TOKEN_HEADER.trim(),
          "content-length: 5",
          "transfer-encoding: chunked",
        ],
        "0\r\n\r\n",
      );
    case "badChunked":
      return head(
        ["POST /api/managed-services HTTP/1.1", TOKEN_HEADER.trim(), "transfer-encoding: chunked"],
        `zz${r.text}\r\n{}\r\n0\r\n\r\n`,
      );
    case "garbageLine":
      return head([r.line]);
    case "dupContentType":
      return head(
        [
          "POST /api/managed-services HTTP/1.1",
          TOKEN_HEADER.trim(),
          "content-type: application/json",
          "content-type: text/plain",
          `content-length: ${r.body.length}`,
        ],
        r.body,
      );
    case "unicodeHeaderName":
      return Buffer.concat([
        Buffer.from("GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"),
        Buffer.from(`${r.name}: v\r\n\r\n`, "utf8"),
      ]);
    case "badTarget":
      return head([`GET ${r.target} HTTP/1.1`, TOKEN_HEADER.trim()]);
  }
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes and reads the answer until the server closes (every request says `connection: close`). */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 10_000): Promise<RawAnswer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    // The server may close while we still write a large request: what it answered is what counts.
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks).toString("utf8")));
    });
    socket.write(bytes);
  });
}

function parse(text: string): RawAnswer | undefined {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: text.slice(end + 4) };
}
