/**
 * The route table format and a small router for it. A route is declared with
 * its request schemas (path params, query, body) and its answer schema; the
 * server validates with them and the OpenAPI document is derived from them.
 */
import type { z } from "zod";
import type { Caller } from "../domain/types";
import type { HttpMetrics, RouteSeries } from "./metrics";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;
type Schema = z.ZodType | undefined;

export interface RouteContext<P, Q, B> {
  /** Who is calling; a public route sees no teams. */
  readonly caller: Caller;
  readonly traceId: string;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
}

export interface RouteSpec<P extends Schema, Q extends Schema, B extends Schema> {
  readonly method: HttpMethod;
  /** Full path with `{name}` placeholders, e.g. `/api/managed-services/{id}`. */
  readonly path: string;
  /** The published operationId; required unless the route is hidden. */
  readonly operationId?: string;
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  /** Answered without a bearer token. */
  readonly public?: boolean;
  /** Left out of the OpenAPI document (health, metrics, the document itself). */
  readonly hidden?: boolean;
  /** Not in the published Codesphere API; marked `x-landform-extension` in the document. */
  readonly extension?: boolean;
  /** A strict object whose keys are the path's placeholders. */
  readonly params?: P;
  /** A strict object of query parameters (values arrive as strings; coerce in the schema). */
  readonly query?: Q;
  /** The JSON body; routes without one never read the request body. */
  readonly body?: B;
  /** The 200 answer; absent means an empty 200. */
  readonly response?: z.ZodType;
  /** Problem statuses the handler itself may answer (401, 400 and 413 are added from the route). */
  readonly problems?: readonly number[];
  /**
   * Calls the service layer. Returns the value to send as JSON, a `RawBody`
   * to send as is, or undefined for an empty 200; may return a promise.
   * Throws DomainError for refusals.
   */
  handler(ctx: RouteContext<Parsed<P>, Parsed<Q>, Parsed<B>>): unknown;
}

/** A route of the table with its schema types erased. */
export type Route = RouteSpec<Schema, Schema, Schema>;

/** Declares a route; the handler's context is typed from the schemas. */
export function route<
  P extends Schema = undefined,
  Q extends Schema = undefined,
  B extends Schema = undefined,
>(spec: RouteSpec<P, Q, B>): Route {
  return spec as Route;
}

/** A body already serialized: written as is, never parsed or re-serialized. */
export class RawBody {
  constructor(
    readonly body: string | Buffer,
    readonly contentType = "application/json",
    readonly status = 200,
    /** Extra response headers (e.g. the mark on a replayed answer). */
    readonly headers?: Record<string, string>,
  ) {}
}

export interface CompiledRoute {
  readonly route: Route;
  readonly series: RouteSeries;
  /** Placeholder names in path order. */
  readonly paramNames: readonly string[];
}

interface PathEntry {
  readonly pattern: string;
  /** Literal segment, or null for a placeholder. */
  readonly segments: readonly (string | null)[];
  readonly byMethod: Map<string, CompiledRoute>;
  allow: string;
}

export type Match =
  | { readonly kind: "route"; readonly compiled: CompiledRoute; readonly values: readonly string[] }
  | { readonly kind: "method"; readonly allow: string }
  | { readonly kind: "none" };

const NONE: Match = { kind: "none" };

export class Router {
  /** Paths without placeholders, for a single map lookup. */
  private readonly literal = new Map<string, PathEntry>();
  /** Patterns with placeholders by segment count, most specific first: a path is tried only against those of its length. */
  private readonly byLength = new Map<number, PathEntry[]>();

  constructor(routes: readonly Route[], metrics: HttpMetrics) {
    const byPattern = new Map<string, PathEntry>();
    const entries: PathEntry[] = [];
    for (const r of routes) {
      const segments = r.path.split("/").map((s) => (s.startsWith("{") && s.endsWith("}") ? null : s));
      const paramNames = r.path
        .split("/")
        .filter((s) => s.startsWith("{"))
        .map((s) => s.slice(1, -1));
      const key = segments.map((s) => s ?? "{}").join("/");
      let entry = byPattern.get(key);
      if (!entry) {
        entry = { pattern: r.path, segments, byMethod: new Map(), allow: "" };
        byPattern.set(key, entry);
        entries.push(entry);
      }
      if (entry.byMethod.has(r.method)) throw new Error(`route ${r.method} ${r.path} is declared twice`);
      if (!r.hidden && !r.operationId) throw new Error(`route ${r.method} ${r.path} needs an operationId`);
      entry.byMethod.set(r.method, { route: r, series: metrics.forRoute(r.method, r.path), paramNames });
      entry.allow = [...entry.byMethod.keys()].join(", ");
    }
    // Literal segments win over placeholders: /managed-services/providers is not the service "providers".
    entries.sort((a, b) => specificity(b) - specificity(a));
    for (const e of entries) {
      if (!e.segments.includes(null)) {
        this.literal.set(e.pattern, e);
        continue;
      }
      const same = this.byLength.get(e.segments.length);
      if (same) same.push(e);
      else this.byLength.set(e.segments.length, [e]);
    }
  }

  match(method: string, pathname: string): Match {
    const exact = this.literal.get(pathname);
    if (exact) return found(exact, method, []);
    const parts = pathname.split("/");
    for (const entry of this.byLength.get(parts.length) ?? []) {
      const segments = entry.segments;
      let ok = true;
      for (let i = 0; i < segments.length; i++) {
        const s = segments[i];
        const p = parts[i] as string;
        if (s === null ? p === "" : s !== p) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const values: string[] = [];
      for (let i = 0; i < segments.length; i++) if (segments[i] === null) values.push(parts[i] as string);
      return found(entry, method, values);
    }
    return NONE;
  }
}

function found(entry: PathEntry, method: string, values: readonly string[]): Match {
  const compiled = entry.byMethod.get(method);
  return compiled ? { kind: "route", compiled, values } : { kind: "method", allow: entry.allow };
}

/** Literal segments weigh by position, so the earliest literal decides between two patterns. */
function specificity(e: PathEntry): number {
  let score = 0;
  for (const s of e.segments) score = score * 2 + (s === null ? 0 : 1);
  return score * 64 + e.segments.length;
}

/**
 * Query string -> null-prototype object of strings. An empty value counts as
 * absent (`?cursor=` is no cursor); a repeated key is refused by returning its name.
 */
export function parseQuery(search: string): { values: Record<string, string> } | { repeated: string } {
  const values: Record<string, string> = Object.create(null);
  if (search === "") return { values };
  const seen = new Set<string>();
  for (const pair of search.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? "" : decode(pair.slice(eq + 1));
    if (seen.has(key)) return { repeated: key };
    seen.add(key);
    if (value !== "") values[key] = value;
  }
  return { values };
}

/** Percent-decoding (with `+` as space in queries); throws URIError on a malformed escape. */
function decode(s: string): string {
  const plus = s.includes("+") ? s.replace(/\+/g, " ") : s;
  return plus.includes("%") ? decodeURIComponent(plus) : plus;
}

export function decodeSegment(s: string): string {
  return s.includes("%") ? decodeURIComponent(s) : s;
}
