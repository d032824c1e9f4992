/**
 * The example stack (root Pulumi.yaml -> examples/pulumi) deployed by the
 * real CLI to `landform serve`, with backups to a real S3-compatible store:
 * its outputs are the connection details, the command lines in them (what
 * `npm start` prints) connect to the real servers with psql and redis-cli,
 * and its landscape pauses as one.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient } from "../sdk";
import { processesUnder } from "./support/engines";
import { PulumiProgram } from "./support/pulumi";
import { type S3Server, startS3Server } from "./support/s3";
import { ROOT, ServedControlPlane } from "./support/serve";

const TOKEN = "tok-Ex71-example-harbor";
/** The object store's secret key: 40 letters and digits, as the catalog requires. */
const ASSETS_SECRET_KEY = "exMo83assetsKeyLandform0123456789abcdefg";

/** Runs a printed command line in a shell, with more arguments after it; never rejects. */
function shell(
  command: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  return new Promise((resolve) => {
    execFile(
      "sh",
      ["-c", `${command} ${quoted}`],
      { timeout: 30_000, env: { ...process.env, PGCONNECT_TIMEOUT: "5" } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The `connect` output of a service (a secret). */
const connectOf = (outputs: Record<string, unknown>, name: string) =>
  String((outputs[name] as { connect?: unknown } | undefined)?.connect);

let shown: Record<string, unknown>;

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
  await set("shopDbSuperuserPassword", "ex-pw-Lr27-shopsuper", true);
  await set("shopAssetsSecretKey", ASSETS_SECRET_KEY, true);
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
  const dataDir = cp?.dataDir;
  await Promise.all([cp?.close(), s3?.close()]);
  // The servers behind the stack's services stopped with landform serve.
  if (dataDir) expect(processesUnder(dataDir)).toEqual([]);
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
      connect: "[secret]",
    });
    expect(plain.ordersDbBackups).toBe("every 24 h");
    shown = await pulumi.outputs(true);
    expect((shown.ordersDb as { dsn: string }).dsn).toBe(byName["orders-db"]?.details?.dsn);
    expect(shown.shopStatuses).toEqual({ "shop-db": "synchronized", "shop-assets": "synchronized" });
    for (const name of ["orders-db", "sessions", "shop-db"]) {
      expect(byName[name]?.details?.simulated, `${name} runs a real server`).toBeUndefined();
    }
    // Stack config stayed outside the repository.
    expect(fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f))).toEqual([]);
  });

  it("outputs psql and redis-cli command lines that connect with the stack's secrets", async () => {
    const orders = connectOf(shown, "ordersDb");
    expect(orders).toMatch(/^psql 'postgresql:\/\/orders:[^@']+@127\.0\.0\.1:[0-9]+\/orders'$/);
    expect(orders).toContain("ex-pw-Tq40-orders");
    const whoami = await shell(orders, "-Atc", "SELECT current_user || ' ' || current_database()");
    expect(whoami).toMatchObject({ code: 0, stdout: "orders orders\n" });

    const shopDb = await shell(connectOf(shown, "shopDb"), "-Atc", "SELECT current_user");
    expect(shopDb).toMatchObject({ code: 0, stdout: "shop\n" });

    const sessions = connectOf(shown, "sessions");
    expect(sessions).toMatch(/^redis-cli -u 'redis:\/\/default:[^@']+@127\.0\.0\.1:[0-9]+'$/);
    const stored = await shell(sessions, "--no-auth-warning", "SET", "example-key", "kept");
    expect(stored).toMatchObject({ code: 0, stdout: "OK\n" });
    // The password in the line is what lets it in.
    const wrong = await shell(
      sessions.replace("ex-pw-Vb55-sessions", "not-the-password"),
      "--no-auth-warning",
      "GET",
      "example-key",
    );
    expect(`${wrong.stdout}${wrong.stderr}`).toMatch(/WRONGPASS|NOAUTH/);

    // The object store: an aws-cli listing of its bucket with its own key. This suite does not
    // need aws-cli: it runs the same listing with the S3 SDK, from exactly what the line says.
    const assets = (await api.managedServices.list({ team: 1 })).find((s) => s.name === "shop-assets");
    const d = assets?.details as Record<string, unknown>;
    expect(d.simulated).toBeUndefined();
    const line = connectOf(shown, "shopAssets");
    const parsed =
      /^AWS_ACCESS_KEY_ID='([A-Z0-9]{20})' AWS_SECRET_ACCESS_KEY='([^']+)' aws --endpoint-url '([^']+)' --region '([^']+)' s3 ls 's3:\/\/([^']+)'$/.exec(
        line,
      );
    expect(parsed, line).not.toBeNull();
    const [, accessKeyId, secretAccessKey, endpoint, region, bucket] = parsed as unknown as string[];
    expect({ accessKeyId, secretAccessKey, endpoint, region, bucket }).toEqual({
      accessKeyId: assets?.config.accessKey,
      secretAccessKey: ASSETS_SECRET_KEY,
      endpoint: d.endpoint,
      region: d.region,
      bucket: d.bucket,
    });
    const s3Client = (key: string) =>
      new S3Client({
        endpoint: String(endpoint),
        region: String(region),
        forcePathStyle: true,
        credentials: { accessKeyId: String(accessKeyId), secretAccessKey: key },
      });
    const owner = s3Client(String(secretAccessKey));
    try {
      await owner.send(new PutObjectCommand({ Bucket: bucket, Key: "hello.txt", Body: "from the example" }));
      const listed = await owner.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual(["hello.txt"]);
    } finally {
      owner.destroy();
    }
    const stranger = s3Client("X".repeat(40));
    try {
      await expect(stranger.send(new ListObjectsV2Command({ Bucket: bucket }))).rejects.toThrow();
    } finally {
      stranger.destroy();
    }
  });

  it("pauses the whole landscape with one setting, and nothing else", async () => {
    await pulumi.run(["config", "set", "pauseShop", "true"]);
    await pulumi.up();
    const byName = Object.fromEntries((await api.managedServices.list({ team: 1 })).map((s) => [s.name, s]));
    expect(byName["shop-db"]?.status.state).toBe("paused");
    expect(byName["shop-assets"]?.status.state).toBe("paused");
    expect(byName["orders-db"]?.status.state).toBe("synchronized");
    // The paused database's server is stopped; the other still answers.
    const paused = await shell(connectOf(shown, "shopDb"), "-Atc", "SELECT 1");
    expect(paused.code).not.toBe(0);
    expect(paused.stderr).toMatch(/Connection refused/);
    expect(await shell(connectOf(shown, "ordersDb"), "-Atc", "SELECT 1")).toMatchObject({
      code: 0,
      stdout: "1\n",
    });
    await pulumi.run(["preview", "--expect-no-changes"]);
  });

  it("destroys cleanly", async () => {
    await pulumi.run(["destroy", "--yes", "--skip-preview"]);
    expect(await api.managedServices.list({ team: 1 })).toEqual([]);
  });
});
