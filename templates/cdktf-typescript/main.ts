import { App, TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { CodesphereProvider, ManagedService } from "landform/cdktf";

class Services extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // api_url, token and team_id come from CS_API, CS_TOKEN and CS_TEAM_ID, so no token lands in cdktf.out.
    new CodesphereProvider(this, "codesphere");

    // Passwords are sensitive Terraform variables (TF_VAR_db_password, ...): neither
    // cdktf.out nor the state holds them (the provider keeps only fingerprints).
    const secret = (name: string, description: string) =>
      new TerraformVariable(this, name, { type: "string", sensitive: true, description }).stringValue;

    // A PostgreSQL (the core catalog's postgres v1, plan 0) with a database and user `app`.
    const db = new ManagedService(this, "db", {
      name: "${PROJECT}-db",
      providerName: "postgres",
      providerVersion: "v1",
      planId: 0,
      config: { version: "16.13", userName: "app", databaseName: "app" },
      secrets: {
        userPassword: secret("db_password", "password of the database's user app"),
        superuserPassword: secret("db_superuser_password", "password of the database's superuser"),
      },
    });

    // A Redis cache that evicts the least recently used keys when full.
    const cache = new ManagedService(this, "cache", {
      name: "${PROJECT}-cache",
      providerName: "redis",
      providerVersion: "v1",
      planId: 0,
      config: { maxmemoryPolicy: "allkeys-lru" },
      secrets: { password: secret("cache_password", "password of the Redis cache") },
    });

    new TerraformOutput(this, "db_id", { value: db.id });
    new TerraformOutput(this, "cache_id", { value: cache.id });
  }
}

const app = new App();
new Services(app, "${PROJECT}");
app.synth();
