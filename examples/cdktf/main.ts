/**
 * An online shop's data services, declared with CDKTF: the orders database
 * (PostgreSQL 15, backups on when a backup store is configured), a session
 * cache (Redis), and the analytics landscape (a warehouse database and an
 * object store for exports) that can be paused as a whole outside office
 * hours.
 *
 *   export CS_API=http://127.0.0.1:8080/api CS_TOKEN=... CS_TEAM_ID=1
 *   export TF_CLI_CONFIG_FILE="$(npx landform tools --terraform-config)"
 *   npx cdktf deploy --skip-provider-lock
 *
 * Settings from the environment: SHOP_DB_PASSWORD, SHOP_CACHE_PASSWORD,
 * SHOP_WAREHOUSE_PASSWORD, SHOP_WAREHOUSE_SUPERUSER_PASSWORD,
 * SHOP_EXPORT_SECRET (secrets; defaults are for a local control plane only),
 * SHOP_BACKUP_ENDPOINT (an S3 endpoint: turns on backups of the orders
 * database), SHOP_ANALYTICS_PAUSED=1 (pauses the analytics landscape).
 *
 * `landform/cdktf` is this repository's own built package (dist/; run `npm
 * run build` first), imported by name as a user's app does. tsconfig.json is
 * the one `cdktf init --template typescript` writes, plus `"types": ["node"]`
 * (TypeScript 6 no longer loads every @types package) and an outDir in dist/.
 * cdktf.json compiles with the repository's TypeScript 6 by path: `npx tsc`
 * here finds the TypeScript 5 alias, whose default resolution for CommonJS
 * (node10) cannot resolve a package's own name.
 */
import { App, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { CodesphereProvider, Landscape, ManagedService } from "landform/cdktf";

const env = process.env;

export class ShopData extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // api_url, token and team come from CS_API, CS_TOKEN and CS_TEAM_ID, so no secret lands in cdktf.out.
    new CodesphereProvider(this, "codesphere");

    const backupEndpoint = env.SHOP_BACKUP_ENDPOINT;
    const orders = new ManagedService(this, "orders-db", {
      name: "shop-orders",
      providerName: "postgresql",
      providerVersion: "15",
      planId: 1,
      planParameters: { storage: 20 },
      config: { max_connections: "200" },
      secrets: { username: "shop", password: env.SHOP_DB_PASSWORD ?? "local-orders-password" },
      ...(backupEndpoint
        ? {
            backups: {
              enabled: true,
              intervalH: 24,
              deleteRetentionDays: 14,
              config: { endpointUrl: backupEndpoint, destinationPath: "s3://shop-backups/orders/" },
              secrets: {
                accessKey: env.SHOP_BACKUP_ACCESS_KEY ?? "",
                secretKey: env.SHOP_BACKUP_SECRET_KEY ?? "",
              },
            },
          }
        : {}),
      timeouts: { create: "30m" },
    });

    const sessions = new ManagedService(this, "session-cache", {
      name: "shop-sessions",
      providerName: "redis",
      providerVersion: "v1",
      planId: 1,
      config: { maxmemoryPolicy: "allkeys-lru" },
      secrets: { password: env.SHOP_CACHE_PASSWORD ?? "local-cache-password" },
    });

    const analytics = new Landscape(this, "analytics", {
      namePrefix: "shop-analytics-",
      pause: env.SHOP_ANALYTICS_PAUSED === "1",
      services: {
        warehouse: {
          providerName: "postgres",
          providerVersion: "v1",
          planId: 0,
          config: { version: "16.13", databaseName: "warehouse" },
          secrets: {
            userPassword: env.SHOP_WAREHOUSE_PASSWORD ?? "local-warehouse-password",
            superuserPassword: env.SHOP_WAREHOUSE_SUPERUSER_PASSWORD ?? "local-warehouse-superuser",
          },
        },
        exports: {
          providerName: "s3",
          providerVersion: "v1",
          planId: 0,
          // The core catalog's s3: a 20-character access key and a 40-character secret.
          config: { accessKey: "SHOPEXPORTS000000000", initialBucketName: "shop-exports" },
          secrets: { secretKey: env.SHOP_EXPORT_SECRET ?? `localExportSecret${"0".repeat(23)}` },
        },
      },
    });

    new TerraformOutput(this, "orders_db_id", { value: orders.id });
    new TerraformOutput(this, "orders_db_host", {
      value: orders.details.lookup("hostname"),
      sensitive: true,
    });
    new TerraformOutput(this, "session_cache_status", { value: sessions.status });
    new TerraformOutput(this, "warehouse_status", { value: analytics.services.warehouse!.status });
  }
}

const app = new App();
new ShopData(app, "shop-data");
app.synth();
