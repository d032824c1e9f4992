import * as pulumi from "@pulumi/pulumi";
import { ManagedService } from "landform/pulumi";

// The connection (codesphere:apiUrl, codesphere:token, codesphere:teamId) and
// the passwords below are stack config; the passwords and token are secrets.
const config = new pulumi.Config();
const project = pulumi.getProject();

// A PostgreSQL (the core catalog's postgres v1, plan 0) with a database and user `app`.
const db = new ManagedService("db", {
  name: `${project}-db`,
  provider: { name: "postgres", version: "v1" },
  plan: { id: 0 },
  config: { version: "16.13", userName: "app", databaseName: "app" },
  secrets: {
    userPassword: config.requireSecret("dbPassword"),
    superuserPassword: config.requireSecret("dbSuperuserPassword"),
  },
});

// A Redis cache that evicts the least recently used keys when full.
const cache = new ManagedService("cache", {
  name: `${project}-cache`,
  provider: { name: "redis", version: "v1" },
  plan: { id: 0 },
  config: { maxmemoryPolicy: "allkeys-lru" },
  secrets: { password: config.requireSecret("cachePassword") },
});

export const dbHost = db.hostname;
export const dbPort = db.port;
export const dbDsn = db.dsn; // a secret: pulumi stack output --show-secrets
export const cacheHost = cache.hostname;
export const cachePort = cache.port;
