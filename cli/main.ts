#!/usr/bin/env node
/**
 * The `landform` command: serve (the reference control plane), backend (the
 * reference backends alone), init (a starter project), tools (Pulumi CLI,
 * Terraform, the provider mirror).
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { backendKey as backendKeyOption, keptBackendKey, vaultKeySource } from "./keys";

const USAGE = `usage: landform <command> [options]

commands:
  serve     run the reference control plane (public API under /api, web console at /, bundled backends)
            --port N (LANDFORM_PORT, default 8080)  --host H (LANDFORM_HOST, default 127.0.0.1)
            --data-dir DIR (LANDFORM_DATA_DIR, default .landform/data)
            --database URL (LANDFORM_DATABASE; postgres://USER:PASSWORD@HOST:PORT/DB: keep the state in
            PostgreSQL, shared by replicas; default: the embedded SQLite store in the data dir)
            --replica-id ID (LANDFORM_REPLICA_ID; names this replica's leases, logs and metrics;
            default hostname-pid-random)  --lease-ttl-ms N (default 15000: how soon a dead
            replica's services move to another)
            --token TOKEN=TEAMS (repeatable; TEAMS: team ids and/or admin, e.g. t1=1,2 or t2=admin)
            --token-file FILE (repeatable; one TOKEN=TEAMS a line, # comments); with neither flag:
            LANDFORM_TOKENS="t1=1,2;t2=admin" and LANDFORM_TOKENS_FILE=FILE (docs/authorization.md)
            --vault-key-file FILE (LANDFORM_VAULT_KEY_FILE; default DIR/vault.key, made on first start)
            --vault-key BASE64[,BASE64...] (LANDFORM_VAULT_KEY; the key ring inline, active key first)
            --backend-key-file FILE (LANDFORM_BACKEND_KEY_FILE)  --backend-key KEY (LANDFORM_BACKEND_KEY)
            --operation-delay-ms N (how long each reference-backend operation takes)  --test-clock
            --access-log changes|all (LANDFORM_ACCESS_LOG; default changes: writes and errors)
  backend   run only the bundled reference backends (provider backend contract)
            --port N  --host H  --data-dir DIR  --operation-delay-ms N
            --key-file FILE (LANDFORM_BACKEND_KEY_FILE)  --key KEY (LANDFORM_BACKEND_KEY); neither:
            a key is made once and kept in DIR/backend.key (0600)
  vault     rotate [--data-dir DIR] [--vault-key-file FILE]: a new vault key, every secret re-sealed
            with it, the old key dropped (run it while serve is stopped)
  init      pulumi|cdktf [DIR] [--api-url URL] [--team-id N] [--landform SPEC]: a new TypeScript
            project (a PostgreSQL and a Redis) in an empty DIR, and the commands that deploy it
  tools     build or find the Pulumi CLI and Terraform, install the Terraform provider mirror
            (--path prints their directory, --terraform-config the CLI config for TF_CLI_CONFIG_FILE)
`;

function jsonLog(rec: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: "info", ...rec })}\n`);
}

function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name}: expected a non-negative integer, got "${value}"`);
  return n;
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "data-dir": { type: "string" },
      database: { type: "string" },
      "replica-id": { type: "string" },
      "lease-ttl-ms": { type: "string" },
      token: { type: "string", multiple: true },
      "token-file": { type: "string", multiple: true },
      "vault-key": { type: "string" },
      "vault-key-file": { type: "string" },
      "operation-delay-ms": { type: "string" },
      "backend-key": { type: "string" },
      "backend-key-file": { type: "string" },
      "test-clock": { type: "boolean" },
      "access-log": { type: "string" },
    },
  });
  const env = process.env;
  const accessLog = values["access-log"] ?? env.LANDFORM_ACCESS_LOG ?? "changes";
  if (accessLog !== "all" && accessLog !== "changes") {
    throw new Error(`--access-log: expected "all" or "changes", got "${accessLog}"`);
  }
  const database = values.database ?? env.LANDFORM_DATABASE;
  if (database !== undefined && !/^postgres(ql)?:\/\//i.test(database)) {
    // Never echo the value: it may hold a password.
    throw new Error("--database (LANDFORM_DATABASE): must be a postgres:// or postgresql:// URL");
  }
  const replicaId = values["replica-id"] ?? env.LANDFORM_REPLICA_ID;
  const { checkReplicaId } = await import("../control-plane/reconciler/leases.js");
  const badReplicaId = replicaId === undefined ? undefined : checkReplicaId(replicaId);
  if (badReplicaId) throw new Error(`--replica-id (LANDFORM_REPLICA_ID): ${badReplicaId}`);
  const leaseTtlMs = intOption("lease-ttl-ms", values["lease-ttl-ms"]);
  if (leaseTtlMs !== undefined && leaseTtlMs < 300)
    throw new Error(`--lease-ttl-ms: expected at least 300 (renewed every third of it), got ${leaseTtlMs}`);
  const { loadTokens } = await import("../control-plane/api/auth.js");
  const tokens = loadTokens({ tokens: values.token ?? [], tokenFiles: values["token-file"] ?? [], env });
  const { startControlPlane } = await import("../control-plane/app.js");
  const { key: vaultKey, keyFile: vaultKeyFile } = vaultKeySource(values, env);
  const delay = intOption("operation-delay-ms", values["operation-delay-ms"]);
  const backendKey = backendKeyOption(values["backend-key"], values["backend-key-file"], env, {
    value: "--backend-key",
    file: "--backend-key-file",
  });
  const cp = await startControlPlane({
    dataDir: resolve(values["data-dir"] ?? env.LANDFORM_DATA_DIR ?? ".landform/data"),
    ...(database ? { database } : {}),
    ...(replicaId ? { replicaId } : {}),
    ...(leaseTtlMs ? { leaseTtlMs } : {}),
    host: values.host ?? env.LANDFORM_HOST ?? "127.0.0.1",
    port: intOption("port", values.port ?? env.LANDFORM_PORT) ?? 8080,
    tokens,
    ...(vaultKey ? { vaultKey } : {}),
    ...(vaultKeyFile ? { vaultKeyFile } : {}),
    backends: {
      ...(delay === undefined ? {} : { operationDelayMs: delay }),
      ...(backendKey ? { key: backendKey } : {}),
    },
    testClock: values["test-clock"] === true || env.LANDFORM_TEST_CLOCK === "1",
    accessLog,
    log: jsonLog,
  });
  if (cp.createdDevToken) {
    // Printed once, when it is made; it is kept (sealed) in the data dir.
    process.stderr.write(
      `\nDevelopment token for team 1 (shown once, keep it):\n\n  export CS_API=${cp.apiUrl}\n  export CS_TOKEN=${cp.createdDevToken}\n\n`,
    );
  }
  // Development token only: a one-time code in the fragment, never the token itself (docs/console.md).
  const signIn = cp.consoleSignInUrl();
  if (signIn)
    process.stderr.write(`Web console (one-time sign-in link, valid 15 minutes):\n\n  ${signIn}\n\n`);
  jsonLog({ msg: "ready", url: cp.url, apiUrl: cp.apiUrl, backendsUrl: cp.backendsUrl });
  await waitForSignal();
  await cp.close();
  return 0;
}

async function backend(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "data-dir": { type: "string" },
      key: { type: "string" },
      "key-file": { type: "string" },
      "operation-delay-ms": { type: "string" },
    },
  });
  const { startReferenceBackends } = await import("../control-plane/backends/reference/index.js");
  const dataDir = resolve(values["data-dir"] ?? process.env.LANDFORM_DATA_DIR ?? ".landform/backends");
  // One process per data dir, held until exit (control-plane/store/lock.ts).
  const { lockDataDir } = await import("../control-plane/store/lock.js");
  lockDataDir(dataDir);
  let key = backendKeyOption(values.key, values["key-file"], process.env, {
    value: "--key",
    file: "--key-file",
  });
  if (!key) {
    // The backends never run open: without a key given, one is made and kept where only its owner reads it.
    const kept = keptBackendKey(dataDir);
    key = kept.key;
    jsonLog({ msg: kept.created ? "made a backend key" : "using the kept backend key", keyFile: kept.file });
  }
  const delay = intOption("operation-delay-ms", values["operation-delay-ms"]);
  const b = await startReferenceBackends({
    dataDir,
    host: values.host ?? "127.0.0.1",
    port: intOption("port", values.port) ?? 8090,
    key,
    ...(delay === undefined ? {} : { operationDelayMs: delay }),
    log: jsonLog,
  });
  jsonLog({ msg: "ready", url: b.url });
  await waitForSignal();
  await b.close();
  return 0;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => resolve();
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "serve":
      return serve(rest);
    case "backend":
      return backend(rest);
    case "vault": {
      const { vaultCommand } = await import("./vault.js");
      return vaultCommand(rest);
    }
    case "init": {
      const { initCommand } = await import("./init.js");
      return initCommand(rest);
    }
    case "tools": {
      const { toolsCommand } = await import("./tools.js");
      return toolsCommand(rest);
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`landform: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

if (require.main === module) {
  // The AWS SDK (backups) warns on every start that Node 20 support ends; the
  // engines field already says what landform supports.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`landform: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
