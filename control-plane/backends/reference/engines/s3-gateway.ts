/**
 * The S3-compatible server that `s3` services get their buckets on: one
 * versitygw (Apache-2.0) per backend, shared by every s3 service, with its
 * internal IAM so that each service has a user of its own.
 *
 * Where it comes from, first match wins:
 * - an existing versitygw named by LANDFORM_S3_ENDPOINT with its root
 *   credentials in LANDFORM_S3_ACCESS_KEY and LANDFORM_S3_SECRET_KEY (it must
 *   run with an IAM store, `--iam-dir` or another, and serve the admin API on
 *   that endpoint, which it does unless started with `--admin-port`; its
 *   region from LANDFORM_S3_REGION, default us-east-1);
 * - otherwise the backend starts one itself from `versitygw` on PATH or the
 *   one `landform tools` built into its cache, on a port of 127.0.0.1 that is
 *   kept across restarts, with its buckets and IAM files under
 *   `<dataDir>/s3-gateway` and root credentials it makes once (0600 file).
 *
 * Root credentials never leave this module: they go to the server in its
 * environment (not its command line) and sign the admin calls.
 * The server starts on first use and is started again on the next use after
 * it dies; `onExit` tells the engine manager, which re-converges the s3
 * services so their `ready` reflects it.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { S3Client } from "@aws-sdk/client-s3";
import { toolsCacheRoot, VERSITYGW_VERSION } from "../../../../cli/tools";
import type { MissingEngine } from "./finder";
import { freePort, launch, stopChild, stopLeftover, tail } from "./process";
import { signV4 } from "./sigv4";

const STATE_FILE = "gateway.json";
const SECRET_FILE = "root.secret";
const PID_FILE = "versitygw.pid";
const START_TIMEOUT_MS = 30_000;
const ADMIN_TIMEOUT_MS = 15_000;
const DEFAULT_REGION = "us-east-1";

export interface GatewayBinary {
  kind: "versitygw";
  file: string;
  source: string;
}

/** Where the S3 server comes from, or how to get one. */
export type GatewaySource =
  | GatewayBinary
  | { kind: "external"; endpoint: string; accessKey: string; secretKey: string; region: string }
  | MissingEngine;

/** The versitygw binary or an existing server from the environment; never throws. */
export function findGateway(env: NodeJS.ProcessEnv = process.env): GatewaySource {
  if (env.LANDFORM_S3_ENDPOINT) {
    if (!env.LANDFORM_S3_ACCESS_KEY || !env.LANDFORM_S3_SECRET_KEY) {
      return {
        kind: "missing",
        engine: "S3 server",
        hint: "LANDFORM_S3_ENDPOINT is set: also set LANDFORM_S3_ACCESS_KEY and LANDFORM_S3_SECRET_KEY (its root credentials)",
      };
    }
    return {
      kind: "external",
      endpoint: env.LANDFORM_S3_ENDPOINT.replace(/\/+$/, ""),
      accessKey: env.LANDFORM_S3_ACCESS_KEY,
      secretKey: env.LANDFORM_S3_SECRET_KEY,
      region: env.LANDFORM_S3_REGION || DEFAULT_REGION,
    };
  }
  const candidates: GatewayBinary[] = [];
  for (const dir of (env.PATH ?? "").split(path.delimiter).filter(Boolean)) {
    candidates.push({ kind: "versitygw", file: path.join(dir, "versitygw"), source: dir });
  }
  const cache = toolsCacheRoot(env);
  try {
    // `landform tools` builds into versitygw-<version>-<hash of tools/s3>; any hash of this version will do.
    for (const name of fs.readdirSync(cache).sort().reverse()) {
      if (name.startsWith(`versitygw-${VERSITYGW_VERSION}-`)) {
        candidates.push({ kind: "versitygw", file: path.join(cache, name, "versitygw"), source: cache });
      }
    }
  } catch {
    // no tools cache yet
  }
  const found = candidates.find((c) => isExecutable(c.file));
  return (
    found ?? {
      kind: "missing",
      engine: "S3 server (versitygw)",
      hint:
        "run `landform tools` once (it builds versitygw into its cache), put versitygw on PATH, " +
        "or set LANDFORM_S3_ENDPOINT, LANDFORM_S3_ACCESS_KEY and LANDFORM_S3_SECRET_KEY to use a running one",
    }
  );
}

export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface GatewayState {
  port: number;
  accessKey: string;
}

export class S3Gateway {
  private child: ChildProcess | undefined;
  private stopping = false;
  private starting: Promise<void> | undefined;
  private state: GatewayState | undefined;
  private secretKey = "";
  private rootClient: S3Client | undefined;
  readonly region: string;
  readonly label = `versitygw ${VERSITYGW_VERSION}`;

  constructor(
    private readonly source: GatewayBinary | Extract<GatewaySource, { kind: "external" }>,
    private readonly dir: string,
    private readonly log: (rec: Record<string, unknown>) => void,
    private readonly onExit: () => void,
  ) {
    this.region = source.kind === "external" ? source.region : DEFAULT_REGION;
  }

  /** The endpoint clients use. */
  get endpoint(): string {
    if (this.source.kind === "external") return this.source.endpoint;
    return `http://127.0.0.1:${this.state?.port ?? 0}`;
  }

  /** True while the server answers (an external one is assumed up). */
  get live(): boolean {
    return this.source.kind === "external" || this.child !== undefined;
  }

  /** Starts the server if it is not running; resolves once it answers admin calls. */
  async ensure(): Promise<void> {
    if (this.source.kind === "external") {
      this.secretKey = this.source.secretKey;
      return;
    }
    if (this.child) return;
    this.starting ??= this.start(this.source).finally(() => {
      this.starting = undefined;
    });
    await this.starting;
  }

  /** A path-style client with the root credentials (for emptying and removing buckets). */
  root(): S3Client {
    this.rootClient ??= new S3Client({
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      credentials: { accessKeyId: this.rootAccess(), secretAccessKey: this.secretKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 2,
    });
    return this.rootClient;
  }

  /** One call of versitygw's admin API; rejects with AdminError carrying its S3 error code. */
  async admin(pathAndQuery: string, body = "", headers: Record<string, string> = {}): Promise<string> {
    const url = new URL(pathAndQuery, `${this.endpoint}/`);
    const signed = signV4({
      method: "PATCH",
      url,
      body,
      accessKey: this.rootAccess(),
      secretKey: this.secretKey,
      region: this.region,
      headers,
    });
    const res = await fetch(url, {
      method: "PATCH",
      headers: signed,
      body,
      signal: AbortSignal.timeout(ADMIN_TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status >= 400) {
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP${res.status}`;
      const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200);
      throw new AdminError(res.status, code, `S3 admin ${url.pathname}: ${code}: ${message}`);
    }
    return text;
  }

  /** Stops the server this backend started (an external one is left alone). */
  async close(): Promise<void> {
    this.rootClient?.destroy();
    this.rootClient = undefined;
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    try {
      await stopChild(child, "SIGTERM", 10_000);
    } finally {
      this.child = undefined;
      this.stopping = false;
    }
  }

  private rootAccess(): string {
    if (this.source.kind === "external") return this.source.accessKey;
    return this.state?.accessKey ?? "";
  }

  private async start(bin: GatewayBinary): Promise<void> {
    fs.mkdirSync(path.join(this.dir, "buckets"), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(this.dir, "iam"), { recursive: true, mode: 0o700 });
    const stateFile = path.join(this.dir, STATE_FILE);
    const secretFile = path.join(this.dir, SECRET_FILE);
    if (!this.state) {
      try {
        this.state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as GatewayState;
        this.secretKey = fs.readFileSync(secretFile, "utf8");
      } catch {
        this.state = { port: await freePort(), accessKey: `landformroot${randomBytes(4).toString("hex")}` };
        this.secretKey = randomBytes(24).toString("base64url");
        fs.writeFileSync(secretFile, this.secretKey, { mode: 0o600 });
        fs.writeFileSync(stateFile, JSON.stringify(this.state));
      }
    }
    const pidFile = path.join(this.dir, PID_FILE);
    // One a crashed backend left running holds the port and the IAM files: stop it first.
    await stopLeftover(pidFile, "versitygw", "SIGTERM", 10_000);
    for (let attempt = 0; ; attempt++) {
      const logFile = path.join(this.dir, "server.log");
      const child = launch({
        file: bin.file,
        args: [
          "--port",
          `127.0.0.1:${this.state.port}`,
          "--iam-dir",
          path.join(this.dir, "iam"),
          // Without the cache a user removed on pause is refused at once, not up to two minutes later.
          "--iam-cache-disable",
          "--quiet",
          "posix",
          path.join(this.dir, "buckets"),
        ],
        cwd: this.dir,
        logFile,
        runAs: null,
        env: { ROOT_ACCESS_KEY_ID: this.state.accessKey, ROOT_SECRET_ACCESS_KEY: this.secretKey },
      });
      fs.writeFileSync(pidFile, `${child.pid ?? ""}\n`);
      let exited = false;
      child.once("error", () => {
        exited = true;
      });
      child.once("exit", (code, signal) => {
        exited = true;
        const crashed = this.child === child && !this.stopping;
        if (this.child === child) this.child = undefined;
        if (crashed) {
          this.log({
            level: "warn",
            msg: "S3 server exited unexpectedly; it is started again on next use",
            exit: signal ? `signal ${signal}` : `exit code ${code}`,
          });
          this.onExit();
        }
      });
      const why = await this.waitReady(() => exited);
      if (why === undefined) {
        this.child = child;
        this.log({ level: "info", msg: "S3 server started", endpoint: this.endpoint, source: bin.source });
        return;
      }
      await stopChild(child, "SIGKILL", 1_000);
      // The kept port was taken by another program meanwhile: take another one.
      if (attempt < 2 && /address already in use/i.test(tail(logFile, 10))) {
        this.state.port = await freePort();
        fs.writeFileSync(stateFile, JSON.stringify(this.state));
        this.rootClient?.destroy();
        this.rootClient = undefined;
        continue;
      }
      throw new Error(`the S3 server did not start (${why}): ${tail(logFile)}`);
    }
  }

  /** Undefined once an admin call succeeds; else why not. */
  private async waitReady(exited: () => boolean): Promise<string | undefined> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (exited()) return "it exited";
      try {
        await this.admin("list-users");
        return undefined;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      await sleep(100);
    }
    return `no answer in ${START_TIMEOUT_MS / 1000} s: ${last}`;
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
