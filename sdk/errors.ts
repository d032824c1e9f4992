/**
 * Every error the SDK throws. `instanceof CodesphereError` catches them all;
 * HTTP failures are `APIError`s with one subclass per status, so callers can
 * write `catch (e) { if (e instanceof NotFoundError) ... }`.
 */
import { STATUS_CODES } from "node:http";
import type { z } from "zod";

export class CodesphereError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The client cannot be built: no base URL, no token, a malformed URL. */
export class ConfigurationError extends CodesphereError {}

// ---------------------------------------------------------------- HTTP errors

export interface APIErrorInit {
  status: number;
  title: string;
  detail?: string | undefined;
  traceId?: string | undefined;
  headers?: Record<string, string>;
  body?: string;
  operation?: string | undefined;
}

/** A non-2xx answer. `title`, `detail` and `traceId` come from the Problem body when there is one. */
export class APIError extends CodesphereError {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly traceId: string | undefined;
  /** Response headers, lower-case names. */
  readonly headers: Record<string, string>;
  /** The raw response body. */
  readonly body: string;
  /** The operationId of the call that failed, e.g. `managed-services-create`. */
  readonly operation: string | undefined;

  constructor(init: APIErrorInit) {
    super(formatApiMessage(init));
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.traceId = init.traceId;
    this.headers = init.headers ?? {};
    this.body = init.body ?? "";
    this.operation = init.operation;
  }

  /** Builds the subclass for `status` from a response body (Problem JSON or anything else). */
  static from(
    status: number,
    body: string,
    headers: Record<string, string> = {},
    operation?: string,
  ): APIError {
    const init: APIErrorInit = { ...parseProblem(status, body), headers, body, operation };
    const Class = errorClassFor(status);
    return new Class(init);
  }
}

export class BadRequestError extends APIError {}
export class AuthenticationError extends APIError {}
export class PermissionDeniedError extends APIError {}
export class NotFoundError extends APIError {}
export class ConflictError extends APIError {}
export class UnprocessableEntityError extends APIError {}
export class RateLimitError extends APIError {}
/** Any 5xx. */
export class InternalServerError extends APIError {}

function errorClassFor(status: number): new (init: APIErrorInit) => APIError {
  switch (status) {
    case 400:
      return BadRequestError;
    case 401:
      return AuthenticationError;
    case 403:
      return PermissionDeniedError;
    case 404:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 422:
      return UnprocessableEntityError;
    case 429:
      return RateLimitError;
    default:
      return status >= 500 ? InternalServerError : APIError;
  }
}

const MAX_DETAIL_CHARS = 1000;

/** Reads a Problem body leniently: a body that is not one still yields a title (the status text) and the text as detail. */
function parseProblem(
  status: number,
  body: string,
): Pick<APIErrorInit, "status" | "title" | "detail" | "traceId"> {
  const fallbackTitle = STATUS_CODES[status] ?? "Error";
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  if (json !== null && typeof json === "object" && !Array.isArray(json)) {
    const p = json as Record<string, unknown>;
    if (typeof p.title === "string" || typeof p.detail === "string" || typeof p.traceId === "string") {
      return {
        status,
        title: typeof p.title === "string" && p.title !== "" ? p.title : fallbackTitle,
        detail: typeof p.detail === "string" ? p.detail : undefined,
        traceId: typeof p.traceId === "string" ? p.traceId : undefined,
      };
    }
  }
  const text = body.trim();
  return {
    status,
    title: fallbackTitle,
    detail: text === "" ? undefined : truncate(text, MAX_DETAIL_CHARS),
    traceId: undefined,
  };
}

function formatApiMessage(init: APIErrorInit): string {
  let message = `${init.status} ${init.title}`;
  if (init.detail) message += `: ${init.detail}`;
  if (init.traceId) message += ` (trace ${init.traceId})`;
  return message;
}

// ---------------------------------------------------------------- transport errors

/** The request failed below HTTP: refused, reset, DNS, TLS. `code` is the system or undici code. */
export class ConnectionError extends CodesphereError {
  readonly code: string | undefined;
  constructor(message: string, options: { cause?: unknown; code?: string | undefined } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

/** No complete answer within the call's `timeoutMs` (per attempt). */
export class TimeoutError extends CodesphereError {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message);
    this.timeoutMs = timeoutMs;
  }
}

/** The caller's AbortSignal fired. `cause` is the signal's reason. Named `AbortError`, like DOMException's. */
export class AbortError extends CodesphereError {
  constructor(reason?: unknown) {
    super(
      reason instanceof Error && reason.name !== "AbortError" ? `aborted: ${reason.message}` : "aborted",
      reason === undefined ? undefined : { cause: reason },
    );
  }
}

// ---------------------------------------------------------------- validation errors

/** One failed rule: where (`plan.parameters.storage`) and what (`must be >= 512`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** A request the API would reject, caught before sending. Names each field path and the rule it breaks. */
export class RequestValidationError extends CodesphereError {
  readonly operation: string;
  readonly issues: FieldIssue[];
  constructor(operation: string, issues: FieldIssue[]) {
    super(`Invalid request for ${operation}: ${joinIssues(issues)}`);
    this.operation = operation;
    this.issues = issues;
  }
}

/** A 2xx answer that does not match the contract. Names the operation and each offending path. */
export class ResponseValidationError extends CodesphereError {
  readonly operation: string;
  readonly issues: FieldIssue[];
  readonly status: number;
  readonly body: string;
  constructor(operation: string, issues: FieldIssue[], status: number, body: string) {
    super(`Malformed response to ${operation} (HTTP ${status}): ${joinIssues(issues)}`);
    this.operation = operation;
    this.issues = issues;
    this.status = status;
    this.body = body;
  }
}

function joinIssues(issues: FieldIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join("; ");
}

// ---------------------------------------------------------------- zod issue formatting

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/**
 * Turns zod issues into `path: rule` pairs. Unions are resolved to the branch
 * that came closest (or, when every branch wants a different literal at the
 * same place, to "must be one of ..."). When `input` is given, the offending
 * value is quoted; pass it only for data that holds no secrets (responses).
 */
export function formatIssues(issues: readonly Issue[], input?: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  collect(issues, [], input, out);
  return out;
}

function collect(issues: readonly Issue[], prefix: Path, input: unknown, out: FieldIssue[]): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const choices = (issue as { options?: unknown[] }).options;
    if (issue.code === "invalid_union" && issue.errors.length === 0 && Array.isArray(choices)) {
      // A discriminated union whose discriminator matched no branch.
      const values = choices.map((c) => JSON.stringify(c)).join(", ");
      out.push({ path: formatPath(path), message: `must be one of ${values}${got(input, path)}` });
      continue;
    }
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const literal = mergedLiteralChoice(issue.errors);
      if (literal) {
        const at = [...path, ...literal.path];
        out.push({ path: formatPath(at), message: `must be one of ${literal.values}${got(input, at)}` });
        continue;
      }
      const closest = issue.errors.reduce((best, branch) => (branch.length < best.length ? branch : best));
      collect(closest, path, input, out);
      continue;
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ path: formatPath([...path, key]), message: "unknown field" });
      continue;
    }
    out.push({ path: formatPath(path), message: describe(issue) + got(input, path, issue) });
  }
}

/** When every branch of a union fails on a literal at the same path, the useful message lists them all. */
function mergedLiteralChoice(
  branches: readonly (readonly Issue[])[],
): { path: Path; values: string } | undefined {
  let path: Path | undefined;
  const values: unknown[] = [];
  for (const branch of branches) {
    const literal = branch.find((i) => i.code === "invalid_value");
    if (literal?.code !== "invalid_value") return undefined;
    if (path === undefined) path = literal.path;
    else if (formatPath(path) !== formatPath(literal.path)) return undefined;
    values.push(...literal.values);
  }
  if (path === undefined) return undefined;
  return { path, values: values.map((v) => JSON.stringify(v)).join(", ") };
}

function describe(issue: Issue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.message.endsWith("received undefined")
        ? `is required (${issue.expected})`
        : issue.message.replace(/^Invalid input: /, "");
    case "too_small": {
      const op = issue.inclusive === false ? ">" : ">=";
      if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint")
        return `must be ${op} ${issue.minimum}`;
      if (issue.origin === "string") return `must be at least ${issue.minimum} characters`;
      if (issue.origin === "array" || issue.origin === "set")
        return `must have at least ${issue.minimum} items`;
      return issue.message;
    }
    case "too_big": {
      const op = issue.inclusive === false ? "<" : "<=";
      if (issue.origin === "number" || issue.origin === "int" || issue.origin === "bigint")
        return `must be ${op} ${issue.maximum}`;
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters`;
      if (issue.origin === "array" || issue.origin === "set")
        return `must have at most ${issue.maximum} items`;
      return issue.message;
    }
    case "invalid_value":
      return `must be ${issue.values.length === 1 ? "" : "one of "}${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    default:
      return issue.message;
  }
}

function got(input: unknown, path: Path, issue?: Issue): string {
  if (input === undefined) return "";
  if (issue && issue.code === "invalid_type" && issue.message.endsWith("received undefined")) return "";
  const value = valueAt(input, path);
  if (value === undefined) return "";
  const text = JSON.stringify(value);
  return text === undefined ? "" : ` (got ${truncate(text, 80)})`;
}

function valueAt(input: unknown, path: Path): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

export function formatPath(path: Path): string {
  if (path.length === 0) return "(root)";
  let s = "";
  for (const key of path) {
    if (typeof key === "number") s += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$-]*$/.test(key)) s += s === "" ? key : `.${key}`;
    else s += `[${JSON.stringify(String(key))}]`;
  }
  return s;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
