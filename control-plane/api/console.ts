/**
 * The web console's side of the server: its built files (dist/console, made
 * by `npm run build`) at `/` and `/assets/*`, and the one extension it needs,
 * `POST /_landform/console/sign-in`, which trades a one-time sign-in code for
 * the token it stands for (docs/console.md). Everything else the console does
 * goes through the public API with that token, as any other client.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { z } from "zod";
import { DomainError } from "../domain/types";
import type { TokenTable } from "./auth";
import { RawBody, type Route, route } from "./router";

/**
 * No inline script or style, nothing from elsewhere: the console loads its own
 * files and talks to this origin only. Provider icons are data: URLs.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".map": "application/json",
};

/** The built console, read once into memory: a request names a file of this map, never a path on disk. */
export interface ConsoleFiles {
  readonly index: Buffer;
  readonly assets: ReadonlyMap<string, Buffer>;
}

/** dist/console of this package (found from the compiled or the source location), if it was built. */
export function builtConsoleDir(from = __dirname): string | undefined {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) {
      const built = join(dir, "dist", "console");
      return existsSync(join(built, "index.html")) ? built : undefined;
    }
  }
  return undefined;
}

export function loadConsoleFiles(dir: string): ConsoleFiles {
  const assets = new Map<string, Buffer>();
  const assetDir = join(dir, "assets");
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      if (TYPES[extname(name)]) assets.set(name, readFileSync(join(assetDir, name)));
    }
  }
  return { index: readFileSync(join(dir, "index.html")), assets };
}

/** How long a sign-in code printed at start may wait for its one use. */
export const SIGN_IN_CODE_TTL_MS = 15 * 60_000;
const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/**
 * One-time sign-in codes: each stands for a token, works once and expires.
 * Codes are kept as SHA-256 digests and compared in constant time against all
 * pending ones, so neither the table nor the timing tells a code.
 */
export class SignInCodes {
  private pending: { digest: Buffer; token: string; expiresAt: number }[] = [];

  constructor(
    private readonly tokens: TokenTable,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new code for `token`, which must be one the server accepts. */
  issue(token: string, ttlMs = SIGN_IN_CODE_TTL_MS): string {
    if (!this.tokens.lookup(token)) throw new Error("a sign-in code can only stand for an accepted token");
    const code = randomBytes(24).toString("base64url");
    this.drop();
    this.pending.push({ digest: digest(code), token, expiresAt: this.now() + ttlMs });
    return code;
  }

  /** The token the code stands for, once; undefined for an unknown, used or expired code. */
  redeem(code: string): string | undefined {
    this.drop();
    const wanted = digest(code);
    let hit: (typeof this.pending)[number] | undefined;
    for (const p of this.pending) if (timingSafeEqual(p.digest, wanted)) hit = p;
    if (!hit) return undefined;
    this.pending = this.pending.filter((p) => p !== hit);
    return hit.token;
  }

  private drop(): void {
    const t = this.now();
    this.pending = this.pending.filter((p) => p.expiresAt > t);
  }
}

const SignInBody = z.strictObject({ code: z.string().min(1).max(200) });
const AssetParams = z.strictObject({
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, "must be a file name of the console"),
});

function headers(cache: string): Record<string, string> {
  return {
    "cache-control": cache,
    "content-security-policy": CONSOLE_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

/**
 * The console's routes. Without a built console `/` answers a 404 that says
 * how to build it; the API's own paths are never shadowed (the console has
 * exactly `/`, `/assets/{file}` and its sign-in extension).
 */
export function consoleRoutes(options: {
  files: ConsoleFiles | undefined;
  codes: SignInCodes;
  tokens: TokenTable;
}): Route[] {
  const { files, codes, tokens } = options;
  const notBuilt = () =>
    new DomainError(404, "Not Found", "the web console is not built here; run `npm run build`");
  return [
    route({
      method: "GET",
      path: "/",
      public: true,
      hidden: true,
      handler: () => {
        if (!files) throw notBuilt();
        // Always revalidated: it names the current hashed assets.
        return new RawBody(files.index, TYPES[".html"], 200, headers("no-cache"));
      },
    }),
    route({
      method: "GET",
      path: "/assets/{file}",
      public: true,
      hidden: true,
      params: AssetParams,
      handler: ({ params }) => {
        const body = files?.assets.get(params.file);
        if (!body) throw new DomainError(404, "Not Found", `file: no console asset ${params.file}`);
        // Names carry a content hash, so a name never changes meaning.
        const type = TYPES[extname(params.file)] ?? "application/octet-stream";
        return new RawBody(body, type, 200, headers("public, max-age=31536000, immutable"));
      },
    }),
    route({
      method: "POST",
      path: "/_landform/console/sign-in",
      public: true,
      hidden: true,
      body: SignInBody,
      handler: ({ body }) => {
        const token = codes.redeem(body.code);
        if (!token) {
          throw new DomainError(401, "Unauthorized", "code: unknown, already used or expired sign-in code");
        }
        const grant = tokens.lookup(token);
        return new RawBody(
          JSON.stringify({ token, teams: [...(grant?.teams ?? [])].sort((a, b) => a - b) }),
          "application/json",
          200,
          { "cache-control": "no-store" },
        );
      },
    }),
  ];
}
