/**
 * Answers requests node's HTTP parser refuses before any handler sees them
 * (malformed request lines, bad or oversized headers, conflicting lengths)
 * with the same Problem JSON every other refusal gets, instead of node's
 * bare `400 Bad Request` without a body.
 */
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import { PROBLEM_CONTENT_TYPE, problemJson } from "./problems";

const REFUSALS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    "Request Header Fields Too Large",
    "headers: larger than the server accepts in total",
  ],
  HPE_HEADERS_TIMEOUT: [408, "Request Timeout", "headers: not complete in time"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout", "request: not complete in time"],
};

/** The `clientError` listener of the API's http.Server. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // A connection reset or half-written answer has no one left to read a Problem.
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, title, detail] = REFUSALS[error.code ?? ""] ?? [
    400,
    "Bad Request",
    `request: not valid HTTP/1.1 (${error.code ?? "parse error"})`,
  ];
  const body = problemJson(status, title, detail, randomBytes(16).toString("hex"));
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
