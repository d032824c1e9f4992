/**
 * A notes app's data services, declared with CDK Terrain (`cdktn`, the
 * community continuation of CDKTF): a PostgreSQL database that is paused
 * outside office hours, its backups when a backup store is configured, and a
 * session cache. The constructs are landform/cdktn: the bindings generated
 * from the provider's schema, so everything is written as for any other
 * provider's `cdktn get` output (`putTimeouts`, `details.lookup(...)`, the
 * catalog data source).
 *
 *   export CS_API=http://127.0.0.1:8080/api CS_TOKEN=... CS_TEAM_ID=1
 *   export TF_CLI_CONFIG_FILE="$(npx landform tools --terraform-config)"
 *   npx cdktn deploy --skip-provider-lock        # the cdktn CLI needs Node.js 22.19 or later
 *
 * Settings from the environment: NOTES_DB_PASSWORD, NOTES_CACHE_PASSWORD
 * (secrets; the defaults are for a local control plane only), NOTES_PAUSED=1
 * (pauses the database in place), NOTES_BACKUP_ENDPOINT (an S3 endpoint: turns
 * on the database's backups, with NOTES_BACKUP_ACCESS_KEY and
 * NOTES_BACKUP_SECRET_KEY).
 */
import { App, TerraformOutput, TerraformStack } from "cdktn";
import type { Construct } from "constructs";
import { CodesphereProvider, DataCodesphereProviders, Landscape, ManagedService } from "../../provider/cdktn";

const env = process.env;

export class NotesData extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // api_url, token and team come from CS_API, CS_TOKEN and CS_TEAM_ID, so no secret lands in cdktf.out.
    new CodesphereProvider(this, "codesphere");

    const db = new ManagedService(this, "notes-db", {
      name: "notes-db",
      providerName: "postgresql",
      providerVersion: "15",
      planId: 1,
      planParameters: { storage: 10 },
      config: { max_connections: "50" },
      secrets: { username: "notes", password: env.NOTES_DB_PASSWORD ?? "local-notes-password" },
      pause: env.NOTES_PAUSED === "1",
    });
    db.putTimeouts({ create: "30m", delete: "15m" });
    if (env.NOTES_BACKUP_ENDPOINT) {
      db.putBackups({
        enabled: true,
        intervalH: 24,
        config: { endpointUrl: env.NOTES_BACKUP_ENDPOINT, destinationPath: "s3://notes-backups/db/" },
        secrets: {
          accessKey: env.NOTES_BACKUP_ACCESS_KEY ?? "",
          secretKey: env.NOTES_BACKUP_SECRET_KEY ?? "",
        },
      });
    }

    const caching = new Landscape(this, "caching", {
      namePrefix: "notes-",
      services: {
        sessions: {
          providerName: "redis",
          providerVersion: "v1",
          planId: 0,
          secrets: { password: env.NOTES_CACHE_PASSWORD ?? "local-cache-password" },
        },
      },
    });

    // What the catalog says about Redis, read at plan time.
    const redis = new DataCodesphereProviders(this, "redis-catalog", { name: "redis" });

    new TerraformOutput(this, "db_id", { value: db.id });
    new TerraformOutput(this, "db_status", { value: db.status });
    new TerraformOutput(this, "db_host", { value: db.details.lookup("hostname"), sensitive: true });
    new TerraformOutput(this, "sessions_id", { value: caching.services.sessions!.id });
    new TerraformOutput(this, "redis_can_pause", { value: redis.providers.get(0).capabilities.pause });
  }
}

const app = new App();
new NotesData(app, "notes-data");
app.synth();
