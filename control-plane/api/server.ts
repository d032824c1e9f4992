/**
 * The HTTP layer of the reference control plane on bare node:http: routing,
 * bearer auth, request validation with the sdk's zod schemas, Problem JSON
 * errors, health and readiness, Prometheus metrics and one structured log
 * record per request. Handlers are thin; the service layer knows nothing of HTTP.
 */
import { randomFillSync } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type Caller,
  type ControlPlaneStats,
  DomainError,
  type ManagedServicesService,
  type ProvidersService,
} from "../domain/types";
import { ConnectionGrants, type TokenTable } from "./auth";
import { CLIENT_GONE, MAX_BODY_BYTES, MAX_JSON_DEPTH, nestsDeeperThan, readBody } from "./body";
import type { Idempotency, KeyedRequest } from "./idempotency";
import { HttpMetrics, type RouteSeries } from "./metrics";
import { buildOpenApiDocument } from "./openapi";
import { describeIssues, PROBLEM_CONTENT_TYPE, problemJson } from "./problems";
import { decodeSegment, parseQuery, RawBody, type Route, type RouteContext, Router, route } from "./router";
import { managedServicesRoutes } from "./routes";

export { MAX_BODY_BYTES } from "./body";
export { RawBody, type Route, type RouteContext, route } from "./router";

export interface ApiDeps {
  readonly providers: ProvidersService;
  readonly managedServices: ManagedServicesService;
  readonly stats: ControlPlaneStats;
  /** The accepted bearer tokens and their grants (see ./auth and docs/authorization.md). */
  readonly tokens: TokenTable;
  /** One structured record per request (method, route pattern, status, duration, traceId) and per 500. */
  readonly log: (rec: Record<string, unknown>) => void;
  /** Readiness: false while the store or the reconciler is not up yet, or the database does not answer. */
  readonly ready: () => boolean | Promise<boolean>;
  /**
   * Which requests get an access-log line: "changes" (default) logs every
   * write and every error but not successful reads, which metrics count;
   * "all" logs every request.
   */
  readonly accessLog?: "all" | "changes";
  /** More routes in the same table format (e.g. admin endpoints); `/api/...` ones that are not hidden are documented. */
  readonly extraRoutes?: readonly Route[];
  /** Honours `Idempotency-Key` on POST and PATCH (./idempotency); without it the header is ignored. */
  readonly idempotency?: Idempotency;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** How much of an oversized body is read and dropped (and for how long) before the connection is cut. */
const LINGER_BYTES = 8 * MAX_BODY_BYTES;
const LINGER_MS = 2_000;
const NO_TEAMS: ReadonlySet<number> = new Set();
const JSON_TYPE = "application/json";

/** Builds the request listener: pass it to `http.createServer`. */
export function createApiHandler(deps: ApiDeps): RequestListener {
  const metrics = new HttpMetrics();
  let openapi: Buffer | undefined;
  const routes: Route[] = [
    ...operationalRoutes(deps, metrics, () => {
      openapi ??= Buffer.from(JSON.stringify(buildOpenApiDocument(routes)));
      return openapi;
    }),
    ...managedServicesRoutes(deps),
    ...(deps.extraRoutes ?? []),
  ];
  const router = new Router(routes, metrics);
  const { log } = deps;
  const grants = new ConnectionGrants(deps.tokens);
  const quietReads = (deps.accessLog ?? "changes") === "changes";

  return function handle(req, res) {
    const start = performance.now();
    const traceId = newTraceId();
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q < 0 ? url : url.slice(0, q);
    // Node's own Host check answers a bare 400 (the server turns it off): refuse here, as Problem JSON.
    if (req.headers.host === undefined && req.httpVersion === "1.1") {
      new Exchange(res, traceId, start, method, metrics.forUnmatched(method), "unmatched", log).problem(
        400,
        "Bad Request",
        "host: an HTTP/1.1 request must send a Host header (node keeps only the first 1000 headers)",
      );
      return;
    }
    const match = router.match(method, pathname);

    if (match.kind !== "route") {
      const ex = new Exchange(res, traceId, start, method, metrics.forUnmatched(method), "unmatched", log);
      if (match.kind === "none") {
        ex.problem(
          404,
          "Not Found",
          `${method} ${clip(pathname)}: no such route; the API is described at /api/openapi.json`,
        );
      } else {
        ex.problem(405, "Method Not Allowed", `${method} is not allowed here; allowed: ${match.allow}`, {
          allow: match.allow,
        });
      }
      return;
    }

    const { compiled, values } = match;
    const r = compiled.route;
    const ex = new Exchange(res, traceId, start, method, compiled.series, r.path, log, quietReads);
    let keyed: KeyedRequest | undefined;
    try {
      let caller: Caller;
      if (r.public) caller = { teams: NO_TEAMS, admin: false, traceId };
      else {
        const auth = grants.authenticate(req.socket, req.headers.authorization);
        if ("refused" in auth) {
          ex.problem(401, "Unauthorized", auth.refused, { "www-authenticate": 'Bearer realm="landform"' });
          return;
        }
        caller = { teams: auth.grant.teams, admin: auth.grant.admin, traceId };
        // The key is held (a repeat gets 409) until this response is over, however it ends.
        keyed = deps.idempotency?.begin(req, method, req.headers.authorization);
        if (keyed) res.once("close", keyed.release);
      }

      let params: unknown;
      if (r.params) {
        const raw: Record<string, string> = Object.create(null);
        for (let i = 0; i < values.length; i++) {
          const name = compiled.paramNames[i] as string;
          const value = safeDecode(values[i] as string, decodeSegment);
          if (value === undefined) return ex.badRequest(`${name}: malformed percent-encoding`);
          raw[name] = value;
        }
        const parsed = r.params.safeParse(raw);
        if (!parsed.success) return ex.badRequest(describeIssues(parsed.error.issues, raw, "path"));
        params = parsed.data;
      }

      let query: unknown;
      if (r.query) {
        const parsedQuery = safeDecode(q < 0 ? "" : url.slice(q + 1), parseQuery);
        if (parsedQuery === undefined) return ex.badRequest("query: malformed percent-encoding");
        if ("repeated" in parsedQuery) return ex.badRequest(`${parsedQuery.repeated}: given more than once`);
        const parsed = r.query.safeParse(parsedQuery.values);
        if (!parsed.success)
          return ex.badRequest(describeIssues(parsed.error.issues, parsedQuery.values, "query"));
        query = parsed.data;
      }

      const bodySchema = r.body;
      if (!bodySchema) {
        ex.run(keyed ? keyed.wrap(r, undefined) : r, { caller, traceId, params, query, body: undefined });
        return;
      }
      readBody(req).then(
        (buffer) => {
          if (nestsDeeperThan(buffer, MAX_JSON_DEPTH)) {
            return ex.badRequest(`body: nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels`);
          }
          let json: unknown;
          try {
            json = JSON.parse(buffer.toString("utf8"));
          } catch {
            return ex.badRequest("body: not valid JSON");
          }
          // Nothing may escape this callback: it would be an unhandled rejection.
          try {
            const parsed = bodySchema.safeParse(json);
            if (!parsed.success) return ex.badRequest(describeIssues(parsed.error.issues, json, "body"));
            ex.run(keyed ? keyed.wrap(r, json) : r, { caller, traceId, params, query, body: parsed.data });
          } catch (err) {
            ex.fail(err);
          }
        },
        (err: unknown) => ex.fail(err),
      );
    } catch (err) {
      ex.fail(err);
    }
  };
}

/** One request being answered: writes the response, then counts and logs it. */
class Exchange {
  constructor(
    private readonly res: ServerResponse,
    private readonly traceId: string,
    private readonly start: number,
    private readonly method: string,
    private readonly series: RouteSeries,
    private readonly route: string,
    private readonly log: ApiDeps["log"],
    private readonly quietReads = false,
  ) {}

  run(r: Route, ctx: RouteContext<unknown, unknown, unknown>): void {
    let result: unknown;
    try {
      result = r.handler(ctx);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.reply(value),
        (err: unknown) => this.fail(err),
      );
    } else this.reply(result);
  }

  private reply(value: unknown): void {
    try {
      if (value === undefined) this.send(200, undefined, "");
      else if (value instanceof RawBody)
        this.send(value.status, value.contentType, value.body, value.headers);
      else this.send(200, JSON_TYPE, JSON.stringify(value));
    } catch (err) {
      this.fail(err);
    }
  }

  badRequest(detail: string): void {
    this.problem(400, "Bad Request", detail);
  }

  /**
   * A body over the limit may still be arriving. Answering and closing at once
   * would make the kernel answer the rest with a reset, which can destroy the
   * 413 before the client reads it; so the rest is read and dropped first, up
   * to a bound in bytes and time. Past the bound the connection is cut
   * without an answer.
   */
  private drainOversizedBody(then: () => void): void {
    const req = this.res.req;
    const socket = this.res.socket;
    if (!req || !socket || req.complete || req.destroyed) {
      then();
      return;
    }
    let dropped = 0;
    let settled = false;
    const settle = (answer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (answer) then();
      else {
        socket.destroy();
        this.finish(413);
      }
    };
    const timer = setTimeout(() => settle(false), LINGER_MS);
    timer.unref();
    req.on("data", (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > LINGER_BYTES) settle(false);
    });
    req.once("end", () => settle(true));
    req.once("close", () => settle(false));
  }

  problem(status: number, title: string, detail: string, headers?: Record<string, string>): void {
    this.send(status, PROBLEM_CONTENT_TYPE, problemJson(status, title, detail, this.traceId), headers);
  }

  fail(err: unknown): void {
    if (err === CLIENT_GONE) {
      this.finish(499);
      return;
    }
    if (err instanceof DomainError) {
      if (err.status === 413) {
        this.drainOversizedBody(() =>
          this.problem(err.status, err.title, err.detail, { connection: "close" }),
        );
        return;
      }
      // Not ready yet: the sdk client retries a 503 after Retry-After.
      const headers: Record<string, string> | undefined =
        err.status === 503 ? { "retry-after": "1" } : undefined;
      this.problem(err.status, err.title, err.detail, headers);
      return;
    }
    this.safeLog({
      level: "error",
      msg: "unhandled error",
      traceId: this.traceId,
      method: this.method,
      route: this.route,
      error: err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err),
    });
    if (this.res.headersSent) {
      this.res.destroy();
      this.finish(500);
      return;
    }
    this.problem(500, "Internal Server Error", "unexpected error; quote the traceId when reporting it");
  }

  private send(
    status: number,
    contentType: string | undefined,
    body: string | Buffer,
    extra?: Record<string, string>,
  ): void {
    // The flat [name, value, ...] form: node writes it without walking an object.
    const headers: string[] = [
      "content-length",
      String(typeof body === "string" ? Buffer.byteLength(body) : body.length),
      "x-trace-id",
      this.traceId,
    ];
    if (contentType) headers.push("content-type", contentType);
    if (extra) for (const name in extra) headers.push(name, extra[name] as string);
    this.res.writeHead(status, headers);
    this.res.end(body);
    this.finish(status);
  }

  private finish(status: number): void {
    const seconds = (performance.now() - this.start) / 1000;
    this.series.observe(status, seconds);
    if (this.quietReads && status < 400 && (this.method === "GET" || this.method === "HEAD")) return;
    this.safeLog({
      level: status >= 500 ? "error" : "info",
      msg: "request",
      method: this.method,
      route: this.route,
      status,
      durationMs: Math.round(seconds * 1e6) / 1e3,
      traceId: this.traceId,
    });
  }

  private safeLog(rec: Record<string, unknown>): void {
    try {
      this.log(rec);
    } catch {
      // A failing log sink must not take the request (or the process) down.
    }
  }
}

/** Health, readiness, metrics and the OpenAPI document: public, and left out of the document. */
function operationalRoutes(deps: ApiDeps, metrics: HttpMetrics, openapi: () => Buffer): Route[] {
  const ok = new RawBody(Buffer.from('{"status":"ok"}'));
  const health = (path: string) =>
    route({ method: "GET", path, public: true, hidden: true, handler: () => ok });
  const ready = (path: string) =>
    route({
      method: "GET",
      path,
      public: true,
      hidden: true,
      handler: async () => {
        if (!(await deps.ready())) throw new DomainError(503, "Service Unavailable", "not ready yet");
        return ok;
      },
    });
  return [
    health("/health"),
    health("/healthz"),
    ready("/ready"),
    ready("/readyz"),
    route({
      method: "GET",
      path: "/metrics",
      public: true,
      hidden: true,
      handler: async () =>
        new RawBody(
          metrics.render(deps.stats, await deps.stats.servicesByState()),
          "text/plain; version=0.0.4; charset=utf-8",
        ),
    }),
    route({
      method: "GET",
      path: "/api/openapi.json",
      public: true,
      hidden: true,
      handler: () => new RawBody(openapi()),
    }),
  ];
}

function safeDecode<T>(s: string, decode: (s: string) => T): T | undefined {
  try {
    return decode(s);
  } catch {
    return undefined;
  }
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

// Trace ids: 16 random bytes as hex (the W3C trace-id size), cut from a pool
// refilled in bulk so a request does not pay for a crypto call of its own.
const TRACE_BYTES = 16;
const traceIdPool = Buffer.allocUnsafe(TRACE_BYTES * 256);
let traceIdOffset = traceIdPool.length;

export function newTraceId(): string {
  if (traceIdOffset >= traceIdPool.length) {
    randomFillSync(traceIdPool);
    traceIdOffset = 0;
  }
  const id = traceIdPool.toString("hex", traceIdOffset, traceIdOffset + TRACE_BYTES);
  traceIdOffset += TRACE_BYTES;
  return id;
}
