/**
 * `Idempotency-Key` on writes, after the IETF httpapi draft
 * "The Idempotency-Key HTTP Header Field": a client that sends a key with a
 * POST or PATCH may repeat the request (after a dropped connection, a
 * timeout) and get the first answer again instead of a second write.
 *
 * Rules (docs/decisions/010-idempotency-keys.md):
 * - Honoured on POST and PATCH, the methods the draft names; ignored on GET,
 *   PUT and DELETE, which are idempotent already, and on public routes.
 * - A key is 1 to 255 printable ASCII characters, bare or as the draft's
 *   quoted string (`"abc"` and `abc` are the same key); anything else, or the
 *   header given twice, is a 400 naming the header.
 * - Keys belong to the bearer token that sent them: another token's key of
 *   the same value is another key.
 * - Same key, same request (method, path, canonical JSON body) within 24 h:
 *   the first answer again, same status and body, with `Idempotent-Replayed: true`.
 * - Same key, another request: 422 naming the header and the rule.
 * - Same key while the first request is still being answered: 409.
 * - Only successful writes are remembered, in the same transaction as the
 *   write: a refused request wrote nothing, so its retry is judged afresh.
 */
import { createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { DomainError } from "../domain/types";
import type { IdempotencyKeys, RecordedAnswer } from "../store/idempotency";
import { bearerToken } from "./auth";
import { RawBody, type Route } from "./router";

export const IDEMPOTENCY_HEADER = "idempotency-key";
/** Marks an answer that is a replay of the first one (the name Stripe and others use). */
export const REPLAYED_HEADER = "idempotent-replayed";
export const MAX_KEY_LENGTH = 255;

const HONOURED_METHODS = new Set(["POST", "PATCH"]);
const PRINTABLE = /^[\x20-\x7e]+$/;

export interface IdempotencyDeps {
  keys: Pick<IdempotencyKeys, "find" | "record">;
  /** The store's transaction: the write and its key commit together. */
  transaction: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The control plane's clock (epoch ms). */
  now: () => number;
  /** Keys the hashes of tokens and bodies, so the table reveals neither (32 bytes or more). */
  secret: Buffer;
}

export class Idempotency {
  /** Scope and key of requests being answered now. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly deps: IdempotencyDeps) {
    if (deps.secret.length < 32) throw new Error("the idempotency secret must be at least 32 bytes");
  }

  /**
   * Looks at a request's Idempotency-Key. Returns undefined when the request
   * does not use one (or the method ignores it); throws DomainError 400 for a
   * malformed key and 409 while the same key is still being answered.
   * Otherwise the key is held until `release()` (call it when the response closes).
   */
  /** `authorization` is the request's header: its bearer token scopes the key. */
  begin(req: IncomingMessage, method: string, authorization: string | undefined): KeyedRequest | undefined {
    if (!HONOURED_METHODS.has(method)) return undefined;
    const token = bearerToken(authorization) ?? "";
    const key = parseKey(req.headersDistinct[IDEMPOTENCY_HEADER]);
    if (key === undefined) return undefined;
    const scope = this.hash("scope", token);
    const held = `${scope}\u0000${key}`;
    if (this.inFlight.has(held)) {
      throw new DomainError(
        409,
        "Conflict",
        `Idempotency-Key: a request with key "${key}" is still being answered; repeat it once that one is done`,
      );
    }
    this.inFlight.add(held);
    return new KeyedRequest(this.deps, scope, key, method, req.url ?? "/", () => this.inFlight.delete(held));
  }

  hash(kind: string, value: string): string {
    return createHmac("sha256", this.deps.secret).update(`${kind}\u0000${value}`).digest("base64url");
  }
}

/** One request carrying a key: wraps its route's handler so the answer is recorded or replayed. */
export class KeyedRequest {
  constructor(
    private readonly deps: IdempotencyDeps,
    readonly scope: string,
    readonly key: string,
    private readonly method: string,
    private readonly target: string,
    readonly release: () => void,
  ) {}

  /**
   * The route with its handler wrapped: a replay answers from the store; a
   * first request runs the handler and records the answer in one transaction.
   * `body` is the request's JSON as received (undefined for routes without one).
   */
  wrap(route: Route, body: unknown): Route {
    const fingerprint = createHmac("sha256", this.deps.secret)
      .update(`${this.method}\u0000${this.target}\u0000${canonicalJson(body)}`)
      .digest("base64url");
    return {
      ...route,
      handler: async (ctx) => {
        const { keys, transaction, now } = this.deps;
        const at = now();
        const first = await keys.find(this.scope, this.key, at);
        if (first) {
          if (first.fingerprint !== fingerprint) {
            throw new DomainError(
              422,
              "Unprocessable Entity",
              `Idempotency-Key: key "${this.key}" was first used for a different request ` +
                "(method, path or body); a key names one request, so send a new key with a changed request",
            );
          }
          return new RawBody(first.body, first.contentType, first.status, { [REPLAYED_HEADER]: "true" });
        }
        // The handler's writes join this transaction (store transactions nest),
        // so the write and its key commit together, or neither does.
        return transaction(async () => {
          const answer = answerOf(await route.handler(ctx), fingerprint);
          await keys.record(this.scope, this.key, answer, at);
          return new RawBody(answer.body, answer.contentType, answer.status);
        });
      },
    };
  }
}

/** The key of the header's values, undefined when absent; throws 400 for a malformed one. */
export function parseKey(values: readonly string[] | undefined): string | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const bad = (rule: string) => new DomainError(400, "Bad Request", `Idempotency-Key: ${rule}`);
  if (values.length > 1) throw bad("given more than once; send one key per request");
  let key = values[0] as string;
  // The draft's form is a structured-field string ("..."); the bare form is what most clients send.
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = key.slice(1, -1);
    if (key.includes('"') || key.includes("\\"))
      throw bad("a quoted key may not contain quotes or backslashes");
  }
  if (key.length === 0) throw bad("must not be empty");
  if (key.length > MAX_KEY_LENGTH)
    throw bad(`must be at most ${MAX_KEY_LENGTH} characters (got ${key.length})`);
  if (!PRINTABLE.test(key)) throw bad("must be printable ASCII characters only");
  return key;
}

/** What the server would send for a handler's result (as the Exchange does), as a recordable answer. */
function answerOf(result: unknown, fingerprint: string): RecordedAnswer {
  if (result === undefined) return { fingerprint, status: 200, contentType: "", body: "" };
  if (result instanceof RawBody) {
    const body = typeof result.body === "string" ? result.body : result.body.toString("utf8");
    return { fingerprint, status: result.status, contentType: result.contentType, body };
  }
  return { fingerprint, status: 200, contentType: "application/json", body: JSON.stringify(result) };
}

/** JSON with object keys sorted, so key order and spacing do not make two requests differ. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return "";
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    // Null prototype: a "__proto__" key of the body stays a key.
    const sorted: Record<string, unknown> = Object.create(null);
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
