// @ts-check
/**
 * `npm start`: the whole thing on one laptop, offline.
 *
 * 1. Starts the reference control plane with embedded storage in
 *    .landform/control-plane (the data, the vault key and a development
 *    token survive restarts).
 * 2. Starts an S3-compatible backup store (versitygw, from `landform
 *    tools`) in .landform/s3.
 * 3. Deploys the example stack (root Pulumi.yaml -> examples/pulumi) with the
 *    Pulumi CLI from `landform tools`: file backend in .landform/pulumi,
 *    passphrase in .landform/pulumi-passphrase, generated service passwords
 *    as stack secrets.
 * 4. Prints what it made, a command line per service that connects to its
 *    real server (psql, redis-cli, aws s3 ls; the reference backends run
 *    PostgreSQL and Redis for real, see docs/decisions/008-real-engines.md),
 *    how to reach the API, and keeps serving until Ctrl-C, which stops
 *    every server.
 *
 * Needs `npm run build` first (the start script does it). PORT picks the API
 * port (default 8080).
 */

const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..", "..");
const STATE = path.join(ROOT, ".landform");
const STACK = "local";
const { startControlPlane } = require(path.join(ROOT, "dist", "control-plane", "app.js"));
const { ensureTools } = require(path.join(ROOT, "dist", "cli", "tools.js"));
const { TokenTable } = require(path.join(ROOT, "dist", "control-plane", "api", "auth.js"));

/**
 * One line per service of the stack outputs: its name and the command line
 * that connects to it (examples/pulumi/connect.ts made it).
 * @param {Record<string, unknown>} outputs as `pulumi stack output --json --show-secrets` gives them
 */
function connectLines(outputs) {
  const rows = Object.entries(outputs).flatMap(([name, value]) => {
    const connect = /** @type {{ connect?: unknown } | null} */ (value)?.connect;
    return typeof value === "object" && typeof connect === "string" ? [[name, connect]] : [];
  });
  const width = Math.max(0, ...rows.map(([name]) => String(name).length));
  return rows.map(([name, connect]) => `  ${String(name).padEnd(width)}  ${connect}`).join("\n");
}

/** @param {string} text */
function say(text) {
  process.stdout.write(`${text}\n`);
}

/** A value kept in .landform, made once. @param {string} name @param {() => string} make */
function kept(name, make) {
  const file = path.join(STATE, name);
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const value = make();
  fs.writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return value;
}

const randomSecret = () => crypto.randomBytes(18).toString("base64url");

/**
 * Starts versitygw (posix backend) on a free port and makes the backup bucket.
 * @param {string} bin
 * @returns {Promise<{ endpoint: string; accessKey: string; secretKey: string; stop(): void }>}
 */
async function startBackupStore(bin) {
  const dir = path.join(STATE, "s3");
  fs.mkdirSync(path.join(dir, "landform-backups"), { recursive: true });
  const accessKey = kept("s3-access-key", () => `landform-${crypto.randomBytes(4).toString("hex")}`);
  const secretKey = kept("s3-secret-key", randomSecret);
  const port = Number(process.env.S3_PORT ?? 8333);
  const proc = spawn(bin, ["--port", `127.0.0.1:${port}`, "--quiet", "posix", dir], {
    env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKey, ROOT_SECRET_ACCESS_KEY: secretKey },
    stdio: "ignore",
  });
  // However this process ends, the store ends with it.
  process.once("exit", () => proc.kill("SIGTERM"));
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null)
      throw new Error(`versitygw exited with ${proc.exitCode} (port ${port} taken? set S3_PORT)`);
    try {
      await fetch(endpoint);
      return { endpoint, accessKey, secretKey, stop: () => proc.kill("SIGTERM") };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  proc.kill("SIGKILL");
  throw new Error(`versitygw did not answer on ${endpoint}`);
}

async function main() {
  fs.mkdirSync(STATE, { recursive: true, mode: 0o700 });

  // The development token for team 1, kept in .landform so it can be printed at every start
  // (the control plane's own development token is shown only when it is made).
  const token = kept("dev-token", () => `lf_dev_${crypto.randomBytes(18).toString("base64url")}`);
  const tokens = new TokenTable();
  tokens.add(token, { teams: new Set([1]), admin: false }, "the development token (.landform/dev-token)");
  const cp = await startControlPlane({
    dataDir: path.join(STATE, "control-plane"),
    port: Number(process.env.PORT ?? 8080),
    tokens,
    log: (/** @type {Record<string, unknown>} */ rec) => {
      // Errors, and the warning that an engine is missing here (its services are then simulated).
      if (rec.level === "error" || String(rec.msg).startsWith("engine missing"))
        process.stderr.write(`${JSON.stringify(rec)}\n`);
    },
  });
  say(`control plane: ${cp.url} (data in .landform/control-plane)`);

  // The Pulumi CLI and the S3-compatible backup store, built once into the tools cache.
  const tools = await ensureTools();
  const store = await startBackupStore(tools.versitygw);
  say(`backup store:  ${store.endpoint} (versitygw, data in .landform/s3)`);

  const configFile = path.join(STATE, `Pulumi.${STACK}.yaml`);
  const env = {
    ...process.env,
    PATH: `${tools.binDir}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_BACKEND_URL: `file://${path.join(STATE, "pulumi")}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? kept("pulumi-passphrase", randomSecret),
    PULUMI_HOME: path.join(STATE, "pulumi-home"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
  fs.mkdirSync(path.join(STATE, "pulumi"), { recursive: true });

  /**
   * Runs the CLI without blocking: the control plane answers from this very process.
   * @param {string[]} args @param {{ quiet?: boolean; allowFailure?: boolean }} [opts]
   * @returns {Promise<{ status: number | null; stdout: string }>}
   */
  const pulumi = (args, opts = {}) =>
    new Promise((resolve, reject) => {
      const withConfig = ["config", "up", "preview", "refresh", "destroy"].includes(
        /** @type {string} */ (args[0]),
      );
      const child = spawn(
        tools.pulumi,
        [...args, ...(withConfig ? ["--config-file", configFile] : []), "--non-interactive"],
        { cwd: ROOT, env, stdio: opts.quiet ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (d) => {
        stdout += d;
      });
      child.stderr?.on("data", (d) => {
        stderr += d;
      });
      child.once("error", reject);
      child.once("close", (status) => {
        if (status !== 0 && !opts.allowFailure) {
          reject(new Error(`pulumi ${args.join(" ")} failed${opts.quiet ? `:\n${stdout}${stderr}` : ""}`));
        } else resolve({ status, stdout });
      });
    });

  if ((await pulumi(["stack", "select", STACK], { quiet: true, allowFailure: true })).status !== 0) {
    await pulumi(["stack", "init", STACK], { quiet: true });
    // `stack init` writes the stack's settings beside Pulumi.yaml; they live in .landform.
    const written = path.join(ROOT, `Pulumi.${STACK}.yaml`);
    if (fs.existsSync(written)) fs.renameSync(written, configFile);
  }
  /** @param {string} key @param {string} value @param {boolean} [secret] */
  const set = (key, value, secret = false) =>
    pulumi(["config", "set", ...(secret ? ["--secret"] : []), key, value], { quiet: true });
  const isSet = async (/** @type {string} */ key) =>
    (await pulumi(["config", "get", key], { quiet: true, allowFailure: true })).status === 0;

  await set("codesphere:apiUrl", cp.apiUrl);
  await set("codesphere:token", token, true);
  await set("codesphere:teamId", "1");
  for (const key of [
    "ordersDbPassword",
    "ordersDbSuperuserPassword",
    "sessionsPassword",
    "shopDbPassword",
    "shopDbSuperuserPassword",
  ]) {
    if (!(await isSet(key))) await set(key, randomSecret(), true);
  }
  // The object store's secret key is 40 letters and digits (the s3 catalog entry); a key an
  // earlier version of this script made in another shape is replaced.
  const assetsKey = await pulumi(["config", "get", "shopAssetsSecretKey"], {
    quiet: true,
    allowFailure: true,
  });
  if (assetsKey.status !== 0 || !/^[a-zA-Z0-9]{40}$/.test(assetsKey.stdout.trim())) {
    await set("shopAssetsSecretKey", crypto.randomBytes(20).toString("hex"), true);
  }
  const quiet = { quiet: true };
  await pulumi(["config", "set", "--path", "backupStore.endpointUrl", store.endpoint], quiet);
  await pulumi(
    ["config", "set", "--path", "backupStore.destinationPath", "s3://landform-backups/example"],
    quiet,
  );
  await pulumi(["config", "set", "--path", "backupStore.accessKeyId", store.accessKey], quiet);
  await set("backupSecretKey", store.secretKey, true);

  say("\ndeploying the example stack (examples/pulumi) ...\n");
  await pulumi(["up", "--yes", "--skip-preview"]);

  const outputs = (await pulumi(["stack", "output", "--json"], { quiet: true })).stdout;
  const shown = /** @type {Record<string, unknown>} */ (
    JSON.parse((await pulumi(["stack", "output", "--json", "--show-secrets"], { quiet: true })).stdout)
  );
  const passphrase = process.env.PULUMI_CONFIG_PASSPHRASE
    ? ""
    : ` PULUMI_CONFIG_PASSPHRASE_FILE=${path.join(STATE, "pulumi-passphrase")}`;
  const pulumiEnv = `PATH=${tools.binDir}:$PATH PULUMI_BACKEND_URL=${env.PULUMI_BACKEND_URL}${passphrase} PULUMI_HOME=${env.PULUMI_HOME}`;
  say(`
made (pulumi stack output; secrets with --show-secrets):
${outputs}
connect (each service's \`connect\` output: the password comes from the stack's secrets):
${connectLines(shown)}

reach the API with the development token (team 1):
  export CS_API=${cp.apiUrl} CS_TOKEN=${token}
  curl -H "Authorization: Bearer $CS_TOKEN" "$CS_API/managed-services?team=1"
  the API is described at ${cp.apiUrl}/openapi.json

see it in the web console (one-time sign-in link, valid 15 minutes; docs/console.md):
  ${cp.consoleSignInUrl(token) ?? `${cp.url}/ (not built here: npm run build)`}

change the stack: edit examples/pulumi/index.ts, then
  ${pulumiEnv} pulumi up --config-file ${configFile}

serving until Ctrl-C (everything stays in .landform/) ...`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say("\nstopping ...");
    store.stop();
    await cp.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((/** @type {unknown} */ error) => {
  process.stderr.write(`npm start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
