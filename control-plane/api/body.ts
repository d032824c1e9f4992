/**
 * Reading a request body within bounds: at most MAX_BODY_BYTES, and JSON
 * nested at most MAX_JSON_DEPTH levels. The depth is checked on the raw bytes
 * before anything parses or walks the value, because zod, Ajv and
 * structuredClone all recurse, and a megabyte of `[` would overflow the stack
 * of whichever comes first.
 */
import type { IncomingMessage } from "node:http";
import { DomainError } from "../domain/types";

export const MAX_BODY_BYTES = 1024 * 1024;

/** Deepest nesting of objects and arrays a body may have; real requests stay under 10. */
export const MAX_JSON_DEPTH = 64;

/** The request ended before its body did; nothing is answered. */
export const CLIENT_GONE = Symbol("client closed the connection");

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      new DomainError(413, "Payload Too Large", `body: larger than ${MAX_BODY_BYTES} bytes`);
    const declared = req.headers["content-length"];
    if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        req.off("end", onEnd);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", () => reject(CLIENT_GONE));
    req.on("close", () => {
      if (!req.complete) reject(CLIENT_GONE);
    });
  });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether the JSON text in `bytes` nests objects and arrays deeper than
 * `limit`. One pass over the bytes, brackets inside strings ignored; it does
 * not validate, JSON.parse does that next. (UTF-8 continuation bytes are all
 * >= 0x80, so they never look like a quote or a bracket.)
 */
export function nestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_BRACKET || b === OPEN_BRACE) {
      if (++depth > limit) return true;
    } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) depth--;
  }
  return false;
}
