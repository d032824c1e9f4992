/**
 * An application's managed services, as a platform team would declare them:
 *
 * - `orders-db`, a PostgreSQL with nightly backups to an S3-compatible store
 *   (when one is configured: `backupStore` and the secret `backupSecretKey`);
 * - `sessions`, a Redis cache;
 * - `shop`, a landscape of the services one more app needs (its own database
 *   and an object store), paused as a whole with `pauseShop`.
 *
 * The outputs are what the application needs to connect; passwords and DSNs
 * are secrets (`pulumi stack output --show-secrets`).
 *
 * Connection: `codesphere:apiUrl`, `codesphere:token` (secret) and
 * `codesphere:teamId` in stack config, else CS_API, CS_TOKEN, CS_TEAM_ID.
 *
 * `landform/pulumi` is this repository's own package, imported by its name
 * as any user's program does (Node resolves a package's own name through its
 * `exports`): it is the built dist/, so run `npm run build` first.
 */
import * as crypto from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { Landscape, ManagedService } from "landform/pulumi";
import { type Details, psqlCommand, redisCommand, s3Command } from "./connect";

const config = new pulumi.Config();

/** Where backups go (`backupStore`); the store's key is the secret `backupSecretKey`. */
interface BackupStore {
  endpointUrl: string;
  destinationPath: string;
  accessKeyId: string;
}

/** Without a backup store the database runs without backups (and says so). */
const backupStore = config.getObject<BackupStore>("backupStore");
const backups = backupStore
  ? {
      intervalH: 24,
      deleteRetentionDays: 7,
      config: { ...backupStore },
      secrets: { secretKey: config.requireSecret("backupSecretKey") },
    }
  : undefined;
if (!backups) {
  pulumi.log.warn("no backupStore configured: orders-db runs without backups");
}

const ordersDbPassword = config.requireSecret("ordersDbPassword");
const sessionsPassword = config.requireSecret("sessionsPassword");
const shopDbPassword = config.requireSecret("shopDbPassword");
const shopAssetsSecretKey = config.requireSecret("shopAssetsSecretKey");
/**
 * The object store's access key and bucket must be unique on the cluster:
 * by default both are derived from the project and stack names (the key is
 * 20 of [A-Z0-9], the bucket a DNS-style name), so two stacks never collide.
 */
const stackId = `${pulumi.getProject()}/${pulumi.getStack()}`;
const SHOP_ASSETS_ACCESS_KEY =
  config.get("shopAssetsAccessKey") ??
  crypto.createHash("sha256").update(`${stackId}/shop-assets`).digest("hex").slice(0, 20).toUpperCase();
const stackSlug = pulumi
  .getStack()
  .toLowerCase()
  .replace(/[^a-z0-9]+/g, "-")
  .replace(/^-|-$/g, "");
const SHOP_ASSETS_BUCKET =
  config.get("shopAssetsBucket") ?? `shop-assets-${stackSlug}`.slice(0, 63).replace(/-$/, "");

const ordersDbService = new ManagedService("orders-db", {
  provider: { name: "postgres", version: "v1" },
  // Plan 1 (Medium); storage may only grow.
  plan: { id: 1, parameters: { storage: config.getNumber("ordersDbStorageMiB") ?? 5120 } },
  config: { version: "16.13", userName: "orders", databaseName: "orders" },
  secrets: {
    userPassword: ordersDbPassword,
    superuserPassword: config.requireSecret("ordersDbSuperuserPassword"),
  },
  ...(backups ? { backups } : {}),
});

const sessionsService = new ManagedService("sessions", {
  provider: { name: "redis", version: "v1" },
  plan: { id: 0 },
  config: { maxmemoryPolicy: "allkeys-lru" },
  secrets: { password: sessionsPassword },
  pause: config.getBoolean("pauseSessions") ?? false,
});

const shop = new Landscape("shop", {
  // Members whose provider supports backups get these; the object store does not.
  ...(backups ? { backups } : {}),
  pause: config.getBoolean("pauseShop") ?? false,
  services: {
    "shop-db": {
      provider: { name: "postgres", version: "v1" },
      plan: { id: 0 },
      config: { version: "16.13", userName: "shop", databaseName: "shop" },
      secrets: {
        userPassword: shopDbPassword,
        superuserPassword: config.requireSecret("shopDbSuperuserPassword"),
      },
    },
    "shop-assets": {
      provider: { name: "s3", version: "v1" },
      plan: { id: 0 },
      config: { accessKey: SHOP_ASSETS_ACCESS_KEY, initialBucketName: SHOP_ASSETS_BUCKET },
      // 40 letters and digits (`openssl rand -hex 20`).
      secrets: { secretKey: shopAssetsSecretKey },
    },
  },
});

/** A member of the landscape above, by its key (declared there, so it exists). */
function member(name: string): ManagedService {
  const service = shop.services[name];
  if (!service) throw new Error(`the shop landscape declares no ${name}`);
  return service;
}
const shopDbService = member("shop-db");
const shopAssetsService = member("shop-assets");

/**
 * What an application needs to reach a service; the DSN is a secret, and so
 * is `connect`, a command line that connects (psql, redis-cli, aws s3) with
 * the service's password in it (./connect.ts). `npm start` prints those.
 */
function connection(
  service: ManagedService,
  secret: pulumi.Output<string>,
  command: (details: Details, secret: string) => string,
) {
  return {
    id: service.id,
    status: service.status,
    hostname: service.hostname,
    port: service.port,
    dsn: service.dsn,
    connect: pulumi.secret(pulumi.all([service.details, secret]).apply(([d, s]) => command(d, s))),
  };
}

export const ordersDb = connection(ordersDbService, ordersDbPassword, (d, pw) =>
  psqlCommand(d, "orders", pw),
);
export const ordersDbBackups = ordersDbService.backups.apply((b) =>
  b.enabled ? `every ${b.intervalH} h` : "off",
);
export const sessions = connection(sessionsService, sessionsPassword, redisCommand);
export const shopDb = connection(shopDbService, shopDbPassword, (d, pw) => psqlCommand(d, "shop", pw));
export const shopAssets = {
  ...connection(shopAssetsService, shopAssetsSecretKey, (d, key) =>
    s3Command(d, SHOP_ASSETS_ACCESS_KEY, key),
  ),
  endpoint: shopAssetsService.details.apply((d) =>
    typeof d?.endpoint === "string" ? d.endpoint : undefined,
  ),
};
export const shopStatuses = shop.statuses;
