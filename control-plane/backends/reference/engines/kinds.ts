/**
 * Which providers of the reference backends run a real engine, on which
 * driver, and what is missing on this machine to run them. Kept apart from
 * the engine manager (./index.ts) because it is a fixed table of the
 * catalog, read at create and at start, with no state of its own.
 */
import type { Values } from "../operations";
import type { Driver, Target } from "./driver";
import { FerretdbDriver, findFerretdb } from "./ferretdb";
import { findPostgres, findRedis, type MissingEngine, POSTGRES_MAJORS } from "./finder";
import { type Credentials, PostgresDriver } from "./postgres";
import { RedisDriver } from "./redis";
import { findGateway } from "./s3-gateway";

/** Which engine a service runs on. */
export type EngineKind =
  | { engine: "postgres"; major: number }
  | { engine: "redis" }
  | { engine: "s3" }
  | { engine: "ferretdb" };

/** The newest major: what `postgresql` serves at its version-less endpoint. */
const NEWEST_POSTGRES = POSTGRES_MAJORS[POSTGRES_MAJORS.length - 1]!;

/** The engine a new service of `provider` should run on, given its config and the endpoint's version. */
export function engineKind(
  provider: string,
  config: Values,
  providerVersion: string | undefined,
): EngineKind | undefined {
  if (provider === "redis") return { engine: "redis" };
  // FerretDB on SQLite in the service's folder (./ferretdb.ts).
  if (provider === "ferretdb") return { engine: "ferretdb" };
  // A bucket and a user on the backend's S3 server (./s3.ts), not a server per service.
  if (provider === "s3") return { engine: "s3" };
  if (provider === "postgres") {
    const major = Number.parseInt(String(config.version ?? ""), 10);
    return Number.isInteger(major) ? { engine: "postgres", major } : undefined;
  }
  if (provider === "postgresql") {
    const major = providerVersion ? Number.parseInt(providerVersion.replace(/^v/, ""), 10) : NEWEST_POSTGRES;
    return Number.isInteger(major) ? { engine: "postgres", major } : undefined;
  }
  return undefined;
}

/** The database user of a service, by provider (the catalog's secrets and config differ). */
function credentials(provider: string): (t: Target) => Credentials {
  if (provider === "postgresql") {
    // The user name is a secret here; the user owns the `postgres` database the dsn names.
    return (t) => ({
      user: String(t.secrets.username),
      password: String(t.secrets.password),
      database: "postgres",
    });
  }
  return (t) => ({
    user: String(t.config.userName ?? "app"),
    password: String(t.secrets.userPassword ?? ""),
    database: String(t.config.databaseName ?? "app"),
    ...(typeof t.secrets.superuserPassword === "string"
      ? { superuserPassword: t.secrets.superuserPassword }
      : {}),
  });
}

/** The driver that runs a server of `kind`, or undefined when its binary is missing (s3 has none: it is a bucket). */
export function driverFor(provider: string, kind: EngineKind): Driver | undefined {
  if (kind.engine === "s3") return undefined;
  if (kind.engine === "ferretdb") {
    const bin = findFerretdb();
    return bin.kind === "ferretdb" ? new FerretdbDriver(bin) : undefined;
  }
  if (kind.engine === "redis") {
    const bin = findRedis();
    return bin.kind === "redis" ? new RedisDriver(bin) : undefined;
  }
  const bin = findPostgres(kind.major);
  return bin.kind === "postgres" ? new PostgresDriver(bin, credentials(provider)) : undefined;
}

/** The engines missing on this machine, each with how to get it (for the warning at start). */
export function missingEngines(): MissingEngine[] {
  const out: MissingEngine[] = [];
  for (const major of POSTGRES_MAJORS) {
    const found = findPostgres(major);
    if (found.kind === "missing") out.push(found);
  }
  for (const found of [findRedis(), findFerretdb(), findGateway()]) {
    if (found.kind === "missing") out.push(found);
  }
  return out;
}
