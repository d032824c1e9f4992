/**
 * The request parts and answers of the reference backends' HTTP side
 * (./server.ts): bounded body reading, the envelope fields' checks (each
 * refusal names the field), the key check, and the `{error}` answers of the
 * provider backend contract.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import type { Values } from "./operations";
import type { PlanInput } from "./providers";

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_BODY_BYTES = 1 << 20;

export const MAX_ID_LENGTH = 255;

export const MAX_KEY_LENGTH = 1024;

export const SUBDOMAIN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function objectBody(raw: Buffer): Record<string, unknown> {
  const body = parseJson(raw);
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(400, "body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    // JSON.parse quotes the input in its message; the input may hold secrets.
    throw new HttpError(400, "body is not valid JSON");
  }
}

export function serviceId(v: unknown): string {
  if (v === undefined || v === null) throw new HttpError(400, "id is required");
  if (typeof v !== "string" || v === "" || v.length > MAX_ID_LENGTH) {
    throw new HttpError(400, `id must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return v;
}

export function positiveTeamId(v: unknown): number {
  if (v === undefined || v === null) throw new HttpError(400, "teamId is required");
  if (!Number.isSafeInteger(v) || (v as number) < 1)
    throw new HttpError(400, "teamId must be a positive integer");
  return v as number;
}

export function subdomain(v: unknown): string | null | undefined {
  if (v === undefined || v === null) return v;
  if (typeof v !== "string" || !SUBDOMAIN.test(v)) {
    throw new HttpError(400, "customSubdomain must be a DNS label (lowercase letters, digits, '-')");
  }
  return v;
}

export function values(v: unknown, field: string): Values | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new HttpError(400, `${field} must be a JSON object`);
  return v as Values;
}

export function plan(v: unknown): PlanInput | undefined {
  if (v === undefined || v === null) return undefined;
  const p = values(v, "plan")!;
  const out: PlanInput = { parameters: {} };
  if (p.id !== undefined) {
    if (!Number.isSafeInteger(p.id) || (p.id as number) < 0)
      throw new HttpError(400, "plan.id must be an integer");
    out.id = p.id as number;
  }
  for (const [name, value] of Object.entries(values(p.parameters, "plan.parameters") ?? {})) {
    if (!Number.isSafeInteger(value)) throw new HttpError(400, `plan.parameters.${name} must be an integer`);
    out.parameters[name] = value as number;
  }
  return out;
}

export function segments(pathname: string): string[] {
  const parts = pathname.split("/").slice(1);
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  try {
    return parts.map(decodeURIComponent);
  } catch {
    throw new HttpError(400, "the path is not valid percent-encoding");
  }
}

export function authorized(headers: http.IncomingHttpHeaders, key: string): boolean {
  // An empty key would let an empty header in: refuse rather than trust the caller to have checked.
  if (!key) return false;
  const offered: string[] = [];
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string") offered.push(apiKey);
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "");
  if (bearer) offered.push(bearer[1]!.trim());
  return offered.some((k) => sameSecret(k, key));
}

/**
 * 401 as Problem JSON (what the control plane's API answers), keeping the
 * contract's `error` member so any backend client reads it the same way.
 */
export function unauthorized(): Answer {
  const detail = "missing or wrong API key: send it as X-API-Key or Authorization: Bearer";
  const traceId = randomBytes(16).toString("hex");
  return {
    status: 401,
    body: { status: 401, title: "Unauthorized", detail, traceId, error: "missing or wrong API key" },
    headers: {
      "content-type": "application/problem+json",
      "www-authenticate": 'Bearer realm="landform-reference-backends"',
      "x-trace-id": traceId,
    },
  };
}

/** Constant-time comparison of two strings of any length. */
export function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, `body is larger than ${MAX_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

export function fail(status: number, error: string): Answer {
  return { status, body: { error } };
}

export function methodNotAllowed(allowed: string[]): Answer {
  return { status: 405, body: { error: "method not allowed" }, headers: { allow: allowed.join(", ") } };
}

export function send(res: http.ServerResponse, a: Answer): void {
  if (res.headersSent || res.destroyed) return;
  if (a.body === undefined) {
    res.writeHead(a.status, a.headers);
    res.end();
    return;
  }
  const text = JSON.stringify(a.body);
  res.writeHead(a.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...a.headers,
  });
  res.end(text);
}
