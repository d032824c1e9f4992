// @ts-check
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
 * This program uses the built package: run `npm run build` first.
 */

const pulumi = require("@pulumi/pulumi");
const { ManagedService, Landscape } = require("../../dist/provider/pulumi");

const config = new pulumi.Config();

/**
 * Where backups go: `{ endpointUrl, destinationPath, accessKeyId }` in
 * `backupStore`, the key in the secret `backupSecretKey`. Without them the
 * database runs without backups (and says so).
 * @type {{ endpointUrl: string; destinationPath: string; accessKeyId: string } | undefined}
 */
const backupStore = config.getObject("backupStore");
const backups = backupStore
  ? {
      intervalH: 24,
      deleteRetentionDays: 7,
      config: backupStore,
      secrets: { secretKey: config.requireSecret("backupSecretKey") },
    }
  : undefined;
if (!backups) {
  pulumi.log.warn("no backupStore configured: orders-db runs without backups");
}

const ordersDb = new ManagedService("orders-db", {
  provider: { name: "postgres", version: "v1" },
  // Medium: 1 vCPU, 2 GiB; storage may only grow.
  plan: { id: 1, parameters: { storage: config.getNumber("ordersDbStorageMiB") ?? 5120 } },
  config: { version: "16.6", userName: "orders", databaseName: "orders" },
  secrets: {
    userPassword: config.requireSecret("ordersDbPassword"),
    superuserPassword: config.requireSecret("ordersDbSuperuserPassword"),
  },
  ...(backups ? { backups } : {}),
});

const sessions = new ManagedService("sessions", {
  provider: { name: "redis", version: "v1" },
  plan: { id: 0 },
  config: { maxmemoryPolicy: "allkeys-lru" },
  secrets: { password: config.requireSecret("sessionsPassword") },
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
      config: { version: "16.6", userName: "shop", databaseName: "shop" },
      secrets: { userPassword: config.requireSecret("shopDbPassword") },
    },
    "shop-assets": {
      provider: { name: "s3", version: "v1" },
      plan: { id: 0 },
      config: { region: "eu-central-1" },
      secrets: {
        accessKeyId: "shop-assets",
        secretAccessKey: config.requireSecret("shopAssetsSecretKey"),
      },
    },
  },
});

const shopDb = /** @type {InstanceType<typeof ManagedService>} */ (shop.services["shop-db"]);
const shopAssets = /** @type {InstanceType<typeof ManagedService>} */ (shop.services["shop-assets"]);

/** What an application needs to reach a service; the DSN is a secret. */
function connection(/** @type {InstanceType<typeof ManagedService>} */ service) {
  return {
    id: service.id,
    status: service.status,
    hostname: service.hostname,
    port: service.port,
    dsn: service.dsn,
  };
}

exports.ordersDb = connection(ordersDb);
exports.ordersDbBackups = ordersDb.backups.apply((b) => (b.enabled ? `every ${b.intervalH} h` : "off"));
exports.sessions = connection(sessions);
exports.shopDb = connection(shopDb);
exports.shopAssets = {
  ...connection(shopAssets),
  endpoint: shopAssets.details.apply((d) => /** @type {string | undefined} */ (d?.endpoint)),
};
exports.shopStatuses = shop.statuses;
