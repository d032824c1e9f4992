/**
 * A real S3-compatible server for the tests: versitygw (Apache-2.0) with its
 * posix backend, so buckets are folders and objects are files in a data
 * folder of the test's own. It is built from the Go module in tools/s3 once,
 * into the landform tools cache (cli/tools.ts), keyed by version and by a
 * hash of tools/s3, and started on a free loopback port per call.
 *
 * Building needs `go` and the Go module proxy the first time (about a minute
 * and a half of compile on 2 cores); without them this throws and says why.
 * It never falls back to a fake.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { ensureVersitygw as buildVersitygw, VERSITYGW_VERSION } from "../../cli/tools";

export { VERSITYGW_VERSION };

const REGION = "us-east-1";

export interface S3ServerOptions {
  /** Folder holding the buckets; a temporary one (removed on close) when absent. */
  dataDir?: string;
  /** Build progress; default standard error. */
  progress?: (text: string) => void;
}

export interface S3Server {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  dataDir: string;
  /** Creates the bucket (if missing) and returns its name. */
  bucket(name: string): Promise<string>;
  /** A path-style SDK client with the server's credentials; closed with the server. */
  client(): S3Client;
  /** Stops the server, keeping its data: the store is unreachable until `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data (after `stop()`). */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections open, nothing answers, until `resume()`. */
  pause(): void;
  resume(): void;
  /** Everything the server printed (never holds the secret key: it is passed in the environment). */
  output(): string;
  close(): Promise<void>;
}

export class S3ServerError extends Error {
  override name = "S3ServerError";
}

/** Builds versitygw if the tools cache lacks it (see cli/tools.ts); returns the binary's path. */
export async function ensureVersitygw(progress: (text: string) => void = defaultProgress): Promise<string> {
  try {
    return await buildVersitygw({ progress });
  } catch (error) {
    throw new S3ServerError(`cannot provide the S3 server for the backup tests: ${(error as Error).message}`);
  }
}

/** Builds (once) and starts versitygw on a free loopback port with its own data folder. */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const bin = await ensureVersitygw(opts.progress);
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "landform-s3-"));
  fs.mkdirSync(dataDir, { recursive: true });
  const accessKey = `landform-${randomBytes(4).toString("hex")}`;
  const secretKey = randomBytes(24).toString("base64url");
  let port = 0;
  let child: ChildProcess | undefined;
  let output = "";
  const clients: S3Client[] = [];

  const launch = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const chosen = port || (await freePort());
      const proc = spawn(bin, ["--port", `127.0.0.1:${chosen}`, "--quiet", "posix", dataDir], {
        // Credentials in the environment, not the command line (`ps` shows that).
        env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKey, ROOT_SECRET_ACCESS_KEY: secretKey },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
      proc.stdout!.setEncoding("utf8").on("data", (d: string) => {
        output += d;
      });
      proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
        output += d;
      });
      const ready = await waitReady(chosen, accessKey, secretKey, exited);
      if (ready === "ready") {
        port = chosen;
        child = proc;
        return;
      }
      proc.kill("SIGKILL");
      // Another process took the port between our probe and the gateway's bind: try another.
      if (!port && attempt < 3 && /address already in use/i.test(output)) continue;
      throw new S3ServerError(`versitygw did not start on 127.0.0.1:${chosen} (${ready}):\n${output}`);
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill("SIGCONT");
    proc.kill("SIGTERM");
    const force = setTimeout(() => proc.kill("SIGKILL"), 5_000);
    await gone;
    clearTimeout(force);
  };

  await launch();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = (): S3Client => {
    const c = new S3Client({
      endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    clients.push(c);
    return c;
  };
  const admin = client();

  return {
    endpoint,
    region: REGION,
    accessKey,
    secretKey,
    dataDir,
    async bucket(name) {
      try {
        await admin.send(new CreateBucketCommand({ Bucket: name }));
      } catch (err) {
        const code = (err as { name?: string }).name;
        if (code !== "BucketAlreadyOwnedByYou" && code !== "BucketAlreadyExists") throw err;
      }
      return name;
    },
    client,
    stop,
    async start() {
      if (!child) await launch();
    },
    pause() {
      child?.kill("SIGSTOP");
    },
    resume() {
      child?.kill("SIGCONT");
    },
    output: () => output,
    async close() {
      for (const c of clients) c.destroy();
      await stop();
      if (ownsDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- helpers

function defaultProgress(text: string): void {
  process.stderr.write(text);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until a signed ListBuckets succeeds; the reason when the process exits or time runs out. */
async function waitReady(
  port: number,
  accessKey: string,
  secretKey: string,
  exited: Promise<number | null>,
): Promise<"ready" | string> {
  const probe = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    maxAttempts: 1,
  });
  let exitCode: number | null | undefined;
  void exited.then((c) => {
    exitCode = c;
  });
  try {
    const deadline = Date.now() + 20_000;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (exitCode !== undefined) return `exited with ${exitCode}`;
      try {
        await probe.send(new ListBucketsCommand({}));
        return "ready";
      } catch (err) {
        last = (err as { code?: string; name?: string }).code ?? (err as Error).name;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return `not ready after 20 s: ${last}`;
  } finally {
    probe.destroy();
  }
}
