/**
 * Real buckets behind `landform serve`: each s3 service is a user with its
 * own key and secret on the S3 server the backend runs (versitygw, built by
 * `landform tools`; this suite builds it into the tools cache when missing
 * and fails if it cannot), and owns its bucket. Objects are put and read
 * with the AWS SDK using only what the API returned and the secrets sent.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient, waitForDeleted, waitForState } from "../sdk";
import { engineDir, eventually, processesUnder } from "./support/engines";
import { ensureVersitygw } from "./support/s3";
import { ServedControlPlane } from "./support/serve";

const TIMEOUT = { timeoutMs: 60_000 };
const suffix = `${process.pid}-${Date.now().toString(36)}`;

let cp: ServedControlPlane;
let client: CodesphereClient;
const sdkClients: S3Client[] = [];

beforeAll(async () => {
  // `landform serve` finds the gateway in the same tools cache.
  await ensureVersitygw();
  cp = await ServedControlPlane.start({ tokens: ["s3-token=1"] });
  client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "s3-token", maxRetries: 2 });
}, 600_000);

afterAll(async () => {
  for (const c of sdkClients) c.destroy();
  await client?.close();
  const dataDir = cp?.dataDir;
  await cp?.close();
  // The S3 server runs with its folders under the data dir: it must be gone too.
  if (dataDir) expect(processesUnder(dataDir)).toEqual([]);
});

/** A user's credentials as the core catalog shapes them. */
function credentials(letter: string): { accessKey: string; secretKey: string } {
  return {
    accessKey: `LANDFORM${letter}${"0123456789AB".slice(0, 11)}`.slice(0, 20),
    secretKey: `${letter}secret`.padEnd(40, "x7Q"),
  };
}

function s3For(details: Record<string, unknown>, accessKey: string, secretKey: string): S3Client {
  const c = new S3Client({
    endpoint: String(details.url),
    region: String(details.region),
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 1,
  });
  sdkClients.push(c);
  return c;
}

async function createBucketService(name: string, letter: string, bucket: string) {
  const { accessKey, secretKey } = credentials(letter);
  const created = await client.managedServices.create({
    teamId: 1,
    name,
    provider: { name: "s3", version: "v1" },
    plan: { id: 0, parameters: {} },
    config: { accessKey, initialBucketName: bucket },
    secrets: { secretKey },
  });
  const synced = await waitForState(client, created.id, "synchronized", TIMEOUT);
  return { id: created.id, details: synced.details as Record<string, unknown>, accessKey, secretKey };
}

/** The S3 error code of a refused request (the SDK's error name). */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { name?: string }).name ?? String(err);
  }
  throw new Error("the request succeeded but should have been refused");
}

async function text(c: S3Client, bucket: string, key: string): Promise<string> {
  const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return got.Body!.transformToString();
}

describe("s3: a real bucket and user per service", () => {
  const bucketA = `landform-a-${suffix}`;
  const bucketB = `landform-b-${suffix}`;
  let a: Awaited<ReturnType<typeof createBucketService>>;
  let b: Awaited<ReturnType<typeof createBucketService>>;

  it("refuses an access key the core catalog's rule does not allow, naming the field", async () => {
    const res = await fetch(`${cp.apiUrl}/managed-services`, {
      method: "POST",
      headers: { authorization: "Bearer s3-token", "content-type": "application/json" },
      body: JSON.stringify({
        teamId: 1,
        name: "bad-key",
        provider: { name: "s3", version: "v1" },
        plan: { id: 0, parameters: {} },
        config: { accessKey: "lowercase-key", initialBucketName: "fine-name" },
        secrets: { secretKey: credentials("Z").secretKey },
      }),
    });
    // The control plane checks the catalog's schema itself: a bad request, before any backend sees it.
    expect(res.status).toBe(400);
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 400, title: expect.any(String), traceId: expect.any(String) });
    expect(String(problem.detail)).toMatch(/config\.accessKey/);
    expect(JSON.stringify(problem)).not.toContain(credentials("Z").secretKey);
  });

  it("creates the user and its bucket; objects go in and come back with the service's credentials", async () => {
    a = await createBucketService("bucket-a", "A", bucketA);
    expect(a.details).toMatchObject({
      url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:[0-9]+$/),
      userId: a.accessKey,
      bucket: bucketA,
      region: "us-east-1",
      ready: true,
    });
    expect(a.details.simulated).toBeUndefined();
    expect(JSON.stringify(a.details)).not.toContain(a.secretKey);
    const s3 = s3For(a.details, a.accessKey, a.secretKey);
    await s3.send(new PutObjectCommand({ Bucket: bucketA, Key: "notes/hello.txt", Body: "hello from A" }));
    expect(await text(s3, bucketA, "notes/hello.txt")).toBe("hello from A");
    // A wrong secret for the right key is refused.
    const forged = s3For(a.details, a.accessKey, credentials("F").secretKey);
    expect(await refusal(forged.send(new ListObjectsV2Command({ Bucket: bucketA })))).toBe(
      "SignatureDoesNotMatch",
    );
  });

  it("keeps another service's credentials out of this bucket", async () => {
    b = await createBucketService("bucket-b", "B", bucketB);
    const s3b = s3For(b.details, b.accessKey, b.secretKey);
    await s3b.send(new PutObjectCommand({ Bucket: bucketB, Key: "b.txt", Body: "B's own" }));
    expect(await text(s3b, bucketB, "b.txt")).toBe("B's own");
    expect(await refusal(s3b.send(new GetObjectCommand({ Bucket: bucketA, Key: "notes/hello.txt" })))).toBe(
      "AccessDenied",
    );
    expect(await refusal(s3b.send(new ListObjectsV2Command({ Bucket: bucketA })))).toBe("AccessDenied");
    expect(
      await refusal(s3b.send(new PutObjectCommand({ Bucket: bucketA, Key: "intruder.txt", Body: "x" }))),
    ).toBe("AccessDenied");
  });

  it("gives no bucket when the name is taken (the core catalog's rule), and the holder keeps it", async () => {
    const c = await createBucketService("bucket-c", "C", bucketA);
    expect(c.details.bucket).toBeUndefined();
    expect(c.details.ready).toBe(true);
    const s3c = s3For(c.details, c.accessKey, c.secretKey);
    expect(await refusal(s3c.send(new ListObjectsV2Command({ Bucket: bucketA })))).toBe("AccessDenied");
    await client.managedServices.delete(c.id);
    await waitForDeleted(client, c.id, TIMEOUT);
    // Deleting C removed none of A's objects.
    expect(await text(s3For(a.details, a.accessKey, a.secretKey), bucketA, "notes/hello.txt")).toBe(
      "hello from A",
    );
  });

  it("refuses the service's requests while paused and serves the same objects after resume", async () => {
    const s3 = s3For(a.details, a.accessKey, a.secretKey);
    await client.managedServices.update(a.id, { pause: true });
    const paused = await waitForState(client, a.id, "paused", TIMEOUT);
    expect((paused.details as Record<string, unknown>).ready).toBe(false);
    expect(await refusal(s3.send(new GetObjectCommand({ Bucket: bucketA, Key: "notes/hello.txt" })))).toBe(
      "InvalidAccessKeyId",
    );
    // Only this service is paused.
    expect(await text(s3For(b.details, b.accessKey, b.secretKey), bucketB, "b.txt")).toBe("B's own");
    await client.managedServices.update(a.id, { pause: false });
    await waitForState(client, a.id, "synchronized", TIMEOUT);
    expect(await text(s3, bucketA, "notes/hello.txt")).toBe("hello from A");
  });

  it("changes the secret in place: the old one is refused, the new one works", async () => {
    const rotated = credentials("R").secretKey;
    await client.managedServices.update(a.id, { secrets: { secretKey: rotated } });
    await waitForState(client, a.id, "synchronized", TIMEOUT);
    const old = s3For(a.details, a.accessKey, a.secretKey);
    expect(await refusal(old.send(new ListObjectsV2Command({ Bucket: bucketA })))).toBe(
      "SignatureDoesNotMatch",
    );
    a.secretKey = rotated;
    expect(await text(s3For(a.details, a.accessKey, rotated), bucketA, "notes/hello.txt")).toBe(
      "hello from A",
    );
  });

  it("keeps objects and the endpoint across a restart of landform serve", async () => {
    await cp.restart("SIGTERM");
    await client.close();
    client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "s3-token", maxRetries: 2 });
    const s3 = s3For(a.details, a.accessKey, a.secretKey);
    expect(await eventually(() => text(s3, bucketA, "notes/hello.txt"))).toBe("hello from A");
    const again = await waitForState(client, a.id, "synchronized", TIMEOUT);
    expect((again.details as Record<string, unknown>).url).toBe(a.details.url);
  });

  it("delete removes the bucket, its objects and the user", async () => {
    await client.managedServices.delete(a.id);
    await waitForDeleted(client, a.id, TIMEOUT);
    const s3 = s3For(a.details, a.accessKey, a.secretKey);
    await eventually(async () => {
      expect(await refusal(s3.send(new ListObjectsV2Command({ Bucket: bucketA })))).toBe(
        "InvalidAccessKeyId",
      );
      expect(fs.existsSync(engineDir(cp.dataDir, "s3", a.id))).toBe(false);
    });
    // The bucket is gone from the server, not only out of reach: B's HeadBucket sees no such bucket.
    const s3b = s3For(b.details, b.accessKey, b.secretKey);
    expect(await refusal(s3b.send(new HeadBucketCommand({ Bucket: bucketA })))).toBe("NotFound");
    expect(fs.existsSync(path.join(cp.dataDir, "s3-gateway", "buckets", bucketA))).toBe(false);
    // B is untouched.
    expect(await text(s3b, bucketB, "b.txt")).toBe("B's own");
  });
});

describe("providers without an engine here", () => {
  it("say so in their details: babelfish and virtual-k8s are simulated", async () => {
    const babelfish = await client.managedServices.create({
      teamId: 1,
      name: "tds-db",
      provider: { name: "babelfish", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: { version: "16.10-4.7.0" },
      secrets: { superuserPassword: "super-pw-Qe48-estuary" },
    });
    const cluster = await client.managedServices.create({
      teamId: 1,
      name: "vcluster",
      provider: { name: "virtual-k8s", version: "v1" },
      plan: { id: 0, parameters: {} },
      config: {},
      secrets: {},
    });
    for (const id of [babelfish.id, cluster.id]) {
      const synced = await waitForState(client, id, "synchronized", TIMEOUT);
      expect(synced.details).toMatchObject({ simulated: true, ready: true });
      expect(JSON.stringify(synced.details)).not.toContain("super-pw-Qe48-estuary");
      await client.managedServices.delete(id);
      await waitForDeleted(client, id, TIMEOUT);
    }
  });
});

describe("without an S3 server to use", () => {
  it("warns at start naming how to get one, and s3 services are simulated", async () => {
    // An empty tools cache and no versitygw on PATH: nothing to start.
    const tools = fs.mkdtempSync(path.join(os.tmpdir(), "landform-no-tools-"));
    const saved = { tools: process.env.LANDFORM_TOOLS_DIR, path: process.env.PATH };
    process.env.LANDFORM_TOOLS_DIR = tools;
    process.env.PATH = (process.env.PATH ?? "")
      .split(path.delimiter)
      .filter((d) => !fs.existsSync(path.join(d, "versitygw")))
      .join(path.delimiter);
    let bare: ServedControlPlane | undefined;
    let c: CodesphereClient | undefined;
    try {
      bare = await ServedControlPlane.start({ tokens: ["bare-token=1"] });
    } finally {
      process.env.LANDFORM_TOOLS_DIR = saved.tools;
      process.env.PATH = saved.path;
      if (saved.tools === undefined) delete process.env.LANDFORM_TOOLS_DIR;
    }
    try {
      await bare.waitForOutput(/engine missing: its services are simulated.*versitygw.*landform tools/);
      c = new CodesphereClient({ baseUrl: bare.apiUrl, token: "bare-token", maxRetries: 2 });
      const { accessKey, secretKey } = credentials("S");
      const created = await c.managedServices.create({
        teamId: 1,
        name: "no-server",
        provider: { name: "s3", version: "v1" },
        plan: { id: 0, parameters: {} },
        config: { accessKey, initialBucketName: `landform-sim-${suffix}` },
        secrets: { secretKey },
      });
      const synced = await waitForState(c, created.id, "synchronized", TIMEOUT);
      expect(synced.details).toMatchObject({ simulated: true, userId: accessKey });
    } finally {
      await c?.close();
      await bare.close();
      fs.rmSync(tools, { recursive: true, force: true });
    }
  });
});

describe("with a running S3 server named by LANDFORM_S3_ENDPOINT", () => {
  it("makes the users and buckets there, and starts no server of its own", async () => {
    const bin = await ensureVersitygw();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-ext-s3-"));
    fs.mkdirSync(path.join(dir, "iam"));
    fs.mkdirSync(path.join(dir, "buckets"));
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const root = { access: "externalroot", secret: "external-root-secret-Kd42" };
    const gateway = spawn(
      bin,
      [
        "--port",
        `127.0.0.1:${port}`,
        "--iam-dir",
        path.join(dir, "iam"),
        "--iam-cache-disable",
        "--quiet",
      ].concat(["posix", path.join(dir, "buckets")]),
      {
        env: { ...process.env, ROOT_ACCESS_KEY_ID: root.access, ROOT_SECRET_ACCESS_KEY: root.secret },
        stdio: "ignore",
      },
    );
    const endpoint = `http://127.0.0.1:${port}`;
    const saved = { ...process.env };
    Object.assign(process.env, {
      LANDFORM_S3_ENDPOINT: endpoint,
      LANDFORM_S3_ACCESS_KEY: root.access,
      LANDFORM_S3_SECRET_KEY: root.secret,
    });
    let ext: ServedControlPlane | undefined;
    let c: CodesphereClient | undefined;
    try {
      ext = await ServedControlPlane.start({ tokens: ["ext-token=1"] });
    } finally {
      for (const k of ["LANDFORM_S3_ENDPOINT", "LANDFORM_S3_ACCESS_KEY", "LANDFORM_S3_SECRET_KEY"]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
    try {
      await eventually(() => fetch(endpoint).then(() => undefined));
      c = new CodesphereClient({ baseUrl: ext.apiUrl, token: "ext-token", maxRetries: 2 });
      const { accessKey, secretKey } = credentials("E");
      const bucket = `landform-ext-${suffix}`;
      const created = await c.managedServices.create({
        teamId: 1,
        name: "external-bucket",
        provider: { name: "s3", version: "v1" },
        plan: { id: 0, parameters: {} },
        config: { accessKey, initialBucketName: bucket },
        secrets: { secretKey },
      });
      const synced = await waitForState(c, created.id, "synchronized", TIMEOUT);
      const details = synced.details as Record<string, unknown>;
      expect(details).toMatchObject({ url: endpoint, bucket, ready: true });
      const s3 = s3For(details, accessKey, secretKey);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "k", Body: "external" }));
      expect(await text(s3, bucket, "k")).toBe("external");
      // The bucket is a folder of that server's data, and the backend started no S3 server of its own.
      expect(fs.existsSync(path.join(dir, "buckets", bucket))).toBe(true);
      expect(fs.existsSync(path.join(ext.dataDir, "s3-gateway"))).toBe(false);
      await c.managedServices.delete(created.id);
      await waitForDeleted(c, created.id, TIMEOUT);
      await eventually(async () => expect(fs.existsSync(path.join(dir, "buckets", bucket))).toBe(false));
    } finally {
      await c?.close();
      await ext.close();
      gateway.kill("SIGTERM");
      await new Promise((r) => gateway.once("exit", r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
