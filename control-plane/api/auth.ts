/**
 * Bearer tokens: where they come from (`--token`, `--token-file`,
 * LANDFORM_TOKENS, LANDFORM_TOKENS_FILE), how they are kept and how a
 * request's token is looked up. The plaintext tokens are not kept: only their
 * SHA-256 digests, each with its grant (docs/authorization.md).
 */
import { hash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Grant } from "../domain/types";

/** A token source that cannot be used; the message names the source, never the token. */
export class TokenError extends Error {
  override name = "TokenError";
}

interface Entry {
  readonly digest: Buffer;
  readonly grant: Grant;
  /** Where the token was given (for the duplicate message): "--token #2", "tokens.txt:4". */
  readonly source: string;
}

/** Visible ASCII only: a token with spaces or control characters cannot travel in a header intact. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;
/** How many leading digest bytes pick a bucket; the full digest is compared in constant time. */
const BUCKET_BYTES = 8;

// The one-shot form: no Hash object per request (a GET pays for this on every call).
const sha256 = (token: string): Buffer => hash("sha256", token, "buffer");

/** Bearer token -> grant, holding only SHA-256 digests of the tokens. */
export class TokenTable {
  private readonly buckets = new Map<string, Entry[]>();
  private count = 0;
  private revisionCount = 0;

  get size(): number {
    return this.count;
  }

  /** Bumped by every change, so a decision remembered elsewhere (ConnectionGrants) can tell it is stale. */
  get revision(): number {
    return this.revisionCount;
  }

  /** Adds a token; giving the same token twice is an error (two grants for one token would be a guess). */
  add(token: string, grant: Grant, source = "token"): void {
    if (!TOKEN_CHARS.test(token)) {
      throw new TokenError(`${source}: a token must be non-empty visible ASCII, without spaces`);
    }
    const digest = sha256(token);
    const key = digest.toString("hex", 0, BUCKET_BYTES);
    const bucket = this.buckets.get(key) ?? [];
    const same = bucket.find((e) => timingSafeEqual(e.digest, digest));
    if (same) throw new TokenError(`${source}: the same token is already given by ${same.source}`);
    bucket.push({ digest, grant: { teams: new Set(grant.teams), admin: grant.admin }, source });
    this.buckets.set(key, bucket);
    this.count += 1;
    this.revisionCount += 1;
  }

  /**
   * The grant of `token`, or undefined. The map is keyed by a prefix of the
   * digest, so its string comparison can only reveal digest bytes, which say
   * nothing useful about a token; the whole digest is then compared with
   * timingSafeEqual against every entry of the bucket, without an early exit.
   */
  lookup(token: string): Grant | undefined {
    const digest = sha256(token);
    const bucket = this.buckets.get(digest.toString("hex", 0, BUCKET_BYTES));
    if (!bucket) return undefined;
    let found: Grant | undefined;
    for (const e of bucket) if (timingSafeEqual(e.digest, digest)) found = e.grant;
    return found;
  }
}

// ---------------------------------------------------------------- parsing

/** `TOKEN=TEAMS`, TEAMS a comma-separated list of team ids and/or `admin`. */
export function parseTokenEntry(entry: string, source: string): { token: string; grant: Grant } {
  // The last "=": base64 tokens may end in "=" padding; TEAMS never holds one.
  const eq = entry.lastIndexOf("=");
  const token = eq < 0 ? "" : entry.slice(0, eq).trim();
  const rest = eq < 0 ? "" : entry.slice(eq + 1);
  // Shown in errors instead of the entry: what follows the "=" is not secret, the token is.
  const shown = `"***=${rest.slice(0, 40)}"`;
  if (token === "") {
    throw new TokenError(`${source}: expected TOKEN=TEAMS (team ids and/or "admin", comma-separated)`);
  }
  const teams = new Set<number>();
  let admin = false;
  for (const raw of rest.split(",")) {
    const item = raw.trim();
    if (item === "admin") admin = true;
    else if (/^\d+$/.test(item) && Number.isSafeInteger(Number(item))) teams.add(Number(item));
    else {
      throw new TokenError(
        `${source}: TEAMS must be team ids (non-negative integers) and/or "admin", comma-separated; got ${shown}`,
      );
    }
  }
  const grant: Grant = { teams, admin };
  return { token, grant };
}

/** LANDFORM_TOKENS: entries separated by ";" (or newlines). */
export function parseTokenList(
  value: string,
  source: string,
): Array<{ token: string; grant: Grant; source: string }> {
  return value
    .split(/[;\n]/)
    .map((e) => e.trim())
    .filter((e) => e !== "")
    .map((e, i) => ({
      ...parseTokenEntry(e, `${source} entry ${i + 1}`),
      source: `${source} entry ${i + 1}`,
    }));
}

/** A token file: one `TOKEN=TEAMS` per line; blank lines and lines starting with "#" are skipped. */
export function parseTokenFile(
  text: string,
  file: string,
): Array<{ token: string; grant: Grant; source: string }> {
  const out: Array<{ token: string; grant: Grant; source: string }> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const entry = line.trim();
    if (entry === "" || entry.startsWith("#")) return;
    const source = `${file}:${i + 1}`;
    out.push({ ...parseTokenEntry(entry, source), source });
  });
  return out;
}

export interface TokenSources {
  /** `--token` values. */
  tokens?: readonly string[];
  /** `--token-file` values. */
  tokenFiles?: readonly string[];
  /** LANDFORM_TOKENS and LANDFORM_TOKENS_FILE; used only when no token flag is given. */
  env?: { LANDFORM_TOKENS?: string | undefined; LANDFORM_TOKENS_FILE?: string | undefined };
}

/**
 * Builds the token table. Flags win over the environment as a whole: with any
 * `--token` or `--token-file`, LANDFORM_TOKENS and LANDFORM_TOKENS_FILE are
 * ignored, so a command line says exactly which tokens are accepted.
 */
export function loadTokens(sources: TokenSources, read: (file: string) => string = readText): TokenTable {
  const table = new TokenTable();
  const flags = (sources.tokens?.length ?? 0) + (sources.tokenFiles?.length ?? 0) > 0;
  const entries: Array<{ token: string; grant: Grant; source: string }> = [];
  if (flags) {
    (sources.tokens ?? []).forEach((e, i) => {
      const source = `--token #${i + 1}`;
      entries.push({ ...parseTokenEntry(e, source), source });
    });
    for (const file of sources.tokenFiles ?? []) entries.push(...parseTokenFile(read(file), file));
  } else {
    const env = sources.env ?? {};
    if (env.LANDFORM_TOKENS) entries.push(...parseTokenList(env.LANDFORM_TOKENS, "LANDFORM_TOKENS"));
    if (env.LANDFORM_TOKENS_FILE) {
      entries.push(...parseTokenFile(read(env.LANDFORM_TOKENS_FILE), env.LANDFORM_TOKENS_FILE));
    }
  }
  for (const e of entries) table.add(e.token, e.grant, e.source);
  return table;
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message;
    throw new TokenError(`token file ${file}: cannot be read (${code})`);
  }
}

// ---------------------------------------------------------------- requests

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(" ");
  if (space < 0 || header.slice(0, space).toLowerCase() !== "bearer") return undefined;
  const token = header.slice(space + 1).trim();
  return token === "" ? undefined : token;
}

export type Authentication = { grant: Grant } | { refused: string };

/**
 * Per connection, the grant of the Authorization header it last sent: a
 * keep-alive client sends the same header with every request, and hashing it
 * each time was a tenth of a GET's CPU. What is remembered is the table's
 * answer for that exact header, so the team checks behind it are unchanged;
 * it lives as long as the connection (a WeakMap on the socket) and is dropped
 * when the table changes. Tokens are fixed for the life of a process, so
 * revoking one means a restart, which closes every connection anyway.
 *
 * A connection may carry many clients' requests (a reverse proxy pools its
 * upstream connections), so the remembered header is compared in constant
 * time: another client's request must not learn it by timing the comparison.
 */
export class ConnectionGrants {
  private readonly memo = new WeakMap<object, { header: string; grant: Grant; revision: number }>();

  constructor(private readonly tokens: TokenTable) {}

  authenticate(connection: object, authorization: string | undefined): Authentication {
    if (authorization === undefined) return authenticate(this.tokens, authorization);
    const seen = this.memo.get(connection);
    if (seen && seen.revision === this.tokens.revision && sameInConstantTime(seen.header, authorization))
      return { grant: seen.grant };
    const auth = authenticate(this.tokens, authorization);
    if ("grant" in auth)
      this.memo.set(connection, { header: authorization, grant: auth.grant, revision: this.tokens.revision });
    else this.memo.delete(connection);
    return auth;
  }
}

/**
 * Whether two strings are equal, looking at every character whatever the
 * first difference (timingSafeEqual on strings, without encoding them into
 * buffers on every request). Only the length may show, as with timingSafeEqual.
 */
function sameInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The grant for a request's Authorization header, or why it is refused (the 401 detail). */
export function authenticate(tokens: TokenTable, authorization: string | undefined): Authentication {
  const token = bearerToken(authorization);
  if (token === undefined) return { refused: "send Authorization: Bearer <token>" };
  const grant = tokens.lookup(token);
  return grant ? { grant } : { refused: "the bearer token is not known here" };
}
