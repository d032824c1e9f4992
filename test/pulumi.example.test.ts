/**
 * The example stack (root Pulumi.yaml -> examples/pulumi) deployed by the
 * real CLI to `landform serve`, with backups to a real S3-compatible store:
 * its outputs are the connection details, and its landscape pauses as one.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import { PulumiProgram } from "./support/pulumi";
import { type S3Server, startS3Server } from "./support/s3";
import { ROOT, ServedControlPlane } from "./support/serve";

const TOKEN = "tok-Ex71-example-harbor";

let cp: ServedControlPlane;
let s3: S3Server;
let api: CodesphereClient;
let pulumi: PulumiProgram;

beforeAll(async () => {
  [cp, s3] = await Promise.all([
    ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 100 }),
    startS3Server(),
  ]);
  await s3.bucket("example-backups");
  api = new CodesphereClient({ baseUrl: cp.apiUrl, token: TOKEN });
  pulumi = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN, project: ROOT });
  const set = (key: string, value: string, secret = false) =>
    pulumi.run(["config", "set", ...(secret ? ["--secret"] : []), key, value]);
  await set("ordersDbPassword", "ex-pw-Tq40-orders", true);
  await set("ordersDbSuperuserPassword", "ex-pw-Zu12-superuser", true);
  await set("sessionsPassword", "ex-pw-Vb55-sessions", true);
  await set("shopDbPassword", "ex-pw-Ha09-shopdb", true);
  await set("shopAssetsSecretKey", "ex-pw-Mo83-assets", true);
  await set("backupSecretKey", s3.secretKey, true);
  await pulumi.run(["config", "set", "--path", "backupStore.endpointUrl", s3.endpoint]);
  await pulumi.run([
    "config",
    "set",
    "--path",
    "backupStore.destinationPath",
    "s3://example-backups/landform",
  ]);
  await pulumi.run(["config", "set", "--path", "backupStore.accessKeyId", s3.accessKey]);
});

afterAll(async () => {
  pulumi?.remove();
  await api?.close();
  await Promise.all([cp?.close(), s3?.close()]);
});

describe("the example stack", () => {
  it("deploys and outputs each service's connection details", async () => {
    await pulumi.up();
    const services = await api.managedServices.list({ team: 1 });
    expect(services.map((s) => [s.name, s.status.state]).sort()).toEqual([
      ["orders-db", "synchronized"],
      ["sessions", "synchronized"],
      ["shop-assets", "synchronized"],
      ["shop-db", "synchronized"],
    ]);
    const byName = Object.fromEntries(services.map((s) => [s.name, s]));
    // The landscape's backups went to the member that supports them, not the object store.
    expect(byName["shop-db"]?.backups.enabled).toBe(true);
    expect(byName["shop-assets"]?.backups.enabled).toBe(false);

    const plain = await pulumi.outputs();
    expect(plain.ordersDb).toMatchObject({
      status: "synchronized",
      hostname: byName["orders-db"]?.details?.hostname,
      // The real server's own port (reference backends run PostgreSQL per service).
      port: byName["orders-db"]?.details?.port,
      dsn: "[secret]",
    });
    expect(plain.ordersDbBackups).toBe("every 24 h");
    const shown = await pulumi.outputs(true);
    expect((shown.ordersDb as { dsn: string }).dsn).toBe(byName["orders-db"]?.details?.dsn);
    expect(shown.shopStatuses).toEqual({ "shop-db": "synchronized", "shop-assets": "synchronized" });
    // Stack config stayed outside the repository.
    expect(fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f))).toEqual([]);
  });

  it("pauses the whole landscape with one setting, and nothing else", async () => {
    await pulumi.run(["config", "set", "pauseShop", "true"]);
    await pulumi.up();
    const byName = Object.fromEntries((await api.managedServices.list({ team: 1 })).map((s) => [s.name, s]));
    expect(byName["shop-db"]?.status.state).toBe("paused");
    expect(byName["shop-assets"]?.status.state).toBe("paused");
    expect(byName["orders-db"]?.status.state).toBe("synchronized");
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  it("destroys cleanly", async () => {
    await pulumi.run(["destroy", "--yes", "--skip-preview"]);
    expect(await api.managedServices.list({ team: 1 })).toEqual([]);
  });
});
