/**
 * The HTTP core under every API method: bearer auth, a timeout per attempt,
 * retries with exponential backoff and full jitter that honour `Retry-After`,
 * and typed errors. It knows nothing about resources or schemas.
 *
 * Retry rule: a request is repeated only when repeating it cannot do harm.
 * GET, PUT, DELETE and PATCH (which sets desired state) are idempotent; POST
 * is repeated only if it certainly never reached the server (refused, DNS,
 * connect timeout) or the caller supplied an idempotency key.
 */
import type { Dispatcher } from "undici";
import { AbortError, APIError, type CodesphereError, ConnectionError, TimeoutError } from "./errors";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Waits `ms`, rejecting with `AbortError` as soon as `signal` fires. */
export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * What the transport needs from a fetch implementation (undici's `fetch` and
 * Node's global one both fit). A configured `dispatcher` is passed as an extra
 * `init.dispatcher`, left out of this type because Node's bundled undici
 * types its own Dispatcher.
 */
export interface FetchInitLike {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}
export interface FetchResponseLike {
  status: number;
  headers: { get(name: string): string | null; forEach(fn: (value: string, name: string) => void): void };
  text(): Promise<string>;
}
export type FetchLike = (url: string, init: FetchInitLike) => Promise<FetchResponseLike>;

/**
 * A `FetchLike` over an undici dispatcher's own `request` API: the same
 * connection pool, timeouts and errors as undici's `fetch`, without the
 * WHATWG streams and objects `fetch` builds for every call (several times the
 * CPU per request, which adds up when many waits poll at once).
 */
export function dispatcherFetch(dispatcher: Dispatcher): FetchLike {
  return async (url, init) => {
    const target = new URL(url);
    const res = await dispatcher.request({
      origin: target.origin,
      path: target.pathname + target.search,
      method: init.method as Dispatcher.HttpMethod,
      headers: init.headers,
      body: init.body ?? null,
      signal: init.signal,
    });
    const headers = res.headers;
    const value = (v: string | string[] | undefined): string | null =>
      v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
    return {
      status: res.statusCode,
      headers: {
        get: (name) => value(headers[name.toLowerCase()]),
        forEach: (fn) => {
          for (const [name, v] of Object.entries(headers)) {
            const text = value(v);
            if (text !== null) fn(text, name);
          }
        },
      },
      text: () => res.body.text(),
    };
  };
}

/** Per-call options every API method accepts. */
export interface RequestOptions {
  /** Cancels the call, including any wait between retries. */
  signal?: AbortSignal;
  /** Limit for one attempt (connect, headers and body); `Infinity` for none. Default: the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Sent as `Idempotency-Key`; lets a POST be retried safely. */
  idempotencyKey?: string;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
}

export interface TransportConfig {
  /** e.g. `https://codesphere.com/api`, without a trailing slash. */
  baseUrl: string;
  token: string;
  timeoutMs: number;
  maxRetries: number;
  fetch: FetchLike;
  dispatcher?: Dispatcher | undefined;
  sleep: SleepFn;
  /** Uniform in [0, 1); drives the jitter. */
  random: () => number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Longest `Retry-After` honoured; longer ones are cut to this. */
  retryAfterMaxMs: number;
  headers: Record<string, string>;
}

export interface HttpRequest {
  /** The operationId, used in error messages. */
  operation: string;
  method: HttpMethod;
  /** Path below the base URL, starting with `/`, parameters already encoded. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Serialized as JSON when present. */
  body?: unknown;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** How many attempts it took (1 = no retry). */
  attempts: number;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_RETRY_BASE_DELAY_MS = 100;
export const DEFAULT_RETRY_MAX_DELAY_MS = 8_000;
export const DEFAULT_RETRY_AFTER_MAX_MS = 60_000;

const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set(["GET", "PUT", "DELETE", "PATCH"]);
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** Failures that happen before a single byte of the request is sent. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

type Attempt =
  | { kind: "response"; response: HttpResponse }
  | { kind: "failure"; error: CodesphereError; notSent: boolean };

export class Transport {
  readonly #config: TransportConfig;

  constructor(config: TransportConfig) {
    this.#config = config;
  }

  get baseUrl(): string {
    return this.#config.baseUrl;
  }

  /** Sends `req`, retrying where safe; resolves with a 2xx answer or throws a `CodesphereError`. */
  async request(req: HttpRequest, options: RequestOptions = {}): Promise<HttpResponse> {
    const config = this.#config;
    const { signal, idempotencyKey } = options;
    const maxRetries = options.maxRetries ?? config.maxRetries;
    const timeoutMs = options.timeoutMs ?? config.timeoutMs;
    const repeatable = IDEMPOTENT_METHODS.has(req.method) || idempotencyKey !== undefined;
    const url = buildUrl(config.baseUrl, req.path, req.query);
    const headers: Record<string, string> = {
      accept: "application/json",
      ...config.headers,
      authorization: `Bearer ${config.token}`,
    };
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    if (body !== undefined) headers["content-type"] = "application/json";
    if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;

    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new AbortError(signal.reason);
      const outcome = await this.#attempt(req, url, headers, body, timeoutMs, signal);
      const canRetry = attempt < maxRetries;

      if (outcome.kind === "response") {
        const { response } = outcome;
        response.attempts = attempt + 1;
        if (response.status >= 200 && response.status < 300) return response;
        if (canRetry && repeatable && RETRYABLE_STATUSES.has(response.status)) {
          const retryAfter = parseRetryAfter(response.headers);
          const delay =
            retryAfter === undefined ? this.#backoff(attempt) : Math.min(retryAfter, config.retryAfterMaxMs);
          await config.sleep(delay, signal);
          continue;
        }
        throw APIError.from(response.status, response.text, response.headers, req.operation);
      }

      if (canRetry && (repeatable || outcome.notSent)) {
        await config.sleep(this.#backoff(attempt), signal);
        continue;
      }
      throw outcome.error;
    }
  }

  /** Full jitter: uniform in [0, min(cap, base * 2^attempt)). */
  #backoff(attempt: number): number {
    const { retryBaseDelayMs, retryMaxDelayMs, random } = this.#config;
    const ceiling = Math.min(retryMaxDelayMs, retryBaseDelayMs * 2 ** attempt);
    return Math.floor(random() * ceiling);
  }

  async #attempt(
    req: HttpRequest,
    url: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, timeoutMs)
      : undefined;
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const init: FetchInitLike & { dispatcher?: Dispatcher } = {
        method: req.method,
        headers,
        signal: controller.signal,
      };
      if (body !== undefined) init.body = body;
      if (this.#config.dispatcher) init.dispatcher = this.#config.dispatcher;
      const res = await this.#config.fetch(url, init);
      // The body is read inside the timeout too: a server that stalls mid-body is a timeout.
      const text = await res.text();
      // undici marks the connection idle a tick after the body ends; without this turn, a call made
      // right after this one finds it busy and opens a second socket.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const responseHeaders: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        responseHeaders[name.toLowerCase()] = value;
      });
      return {
        kind: "response",
        response: { status: res.status, headers: responseHeaders, text, attempts: 1 },
      };
    } catch (error) {
      if (signal?.aborted) throw new AbortError(signal.reason);
      const target = `${req.method} ${url}`;
      if (timedOut) {
        return {
          kind: "failure",
          error: new TimeoutError(
            `${req.operation}: no answer within ${timeoutMs} ms (${target})`,
            timeoutMs,
          ),
          notSent: false,
        };
      }
      const code = errorCode(error);
      const reason = rootMessage(error);
      return {
        kind: "failure",
        error: new ConnectionError(`${req.operation}: connection failed (${code ?? reason}) for ${target}`, {
          cause: error,
          code,
        }),
        notSent: code !== undefined && NOT_SENT_CODES.has(code),
      };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** `base + path + ?query`, skipping undefined query values. */
export function buildUrl(
  baseUrl: string,
  path: string,
  query?: Record<string, string | number | boolean | undefined>,
): string {
  let url = baseUrl + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.append(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  return url;
}

/**
 * Milliseconds to wait according to `Retry-After` (delta seconds or an HTTP
 * date) or the non-standard `retry-after-ms`; undefined when absent or unreadable.
 */
export function parseRetryAfter(
  headers: Record<string, string>,
  now: number = Date.now(),
): number | undefined {
  const ms = headers["retry-after-ms"];
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = headers["retry-after"]?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The default `SleepFn`: a timer that an AbortSignal cancels at once. */
export const sleep: SleepFn = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(signal.reason));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** The first `code` found on the error, its causes, or the errors of an AggregateError. */
function errorCode(error: unknown, depth = 0): string | undefined {
  if (depth > 5 || error === null || typeof error !== "object") return undefined;
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === "string" && e.code !== "") return e.code;
  const fromCause = errorCode(e.cause, depth + 1);
  if (fromCause) return fromCause;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = errorCode(inner, depth + 1);
      if (code) return code;
    }
  }
  return undefined;
}

function rootMessage(error: unknown): string {
  let e: unknown = error;
  for (let i = 0; i < 5 && e instanceof Error && e.cause instanceof Error; i++) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
