/**
 * The plugin process: go-plugin's handshake over gRPC (./grpc-server) with mutual TLS.
 *
 * Terraform starts the plugin with a magic cookie and its client certificate
 * in the environment, reads one line from standard output
 * (`1|6|tcp|127.0.0.1:PORT|grpc|CERT`), connects, pins CERT, and presents its
 * own certificate, which the server verifies. It ends the process with
 * `GRPCController.Shutdown`; exiting at once matters, because Terraform
 * starts a new plugin process for every phase of a run.
 */
import { type GrpcServer, serveGrpc, type UnaryMethod } from "./grpc-server";
import { type Log, stderrLog } from "./log";
import { Codec, type Message } from "./protobuf";
import { controllerShutdown, healthCheck, type Method, registry } from "./protocol";
import { createTlsIdentity, handshakeCert, type TlsIdentity } from "./tls";

export const MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE";
export const MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
export const PROTOCOL_VERSION = 6;

export const codec = new Codec(registry);

/** A unary handler: the decoded request in, the response message out. */
export type Handler = (request: Message) => Promise<Message> | Message;

export interface ServeOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the handshake line goes; default standard output. */
  out?: (line: string) => void;
  /** Called once the process should end (after Shutdown); default process.exit(0). */
  exit?: () => void;
  /** Where log lines go; default standard error. */
  log?: Log;
  /** The server's certificate and key; default a fresh one. */
  identity?: TlsIdentity;
  /** Called when the client's last connection closes (it went away without Shutdown). */
  onDisconnect?: () => void;
}

export interface RunningPlugin {
  port: number;
  /** The line printed for Terraform. */
  handshake: string;
  stop(): Promise<void>;
}

/** Why the plugin cannot start as a plugin (it was started by hand, or by a client it cannot serve). */
export class HandshakeError extends Error {}

function checkEnvironment(env: NodeJS.ProcessEnv): void {
  if (env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    throw new HandshakeError(
      "This is a Terraform provider plugin (landform/codesphere). Terraform starts it; it is not meant to be run by hand.\n" +
        "Install it with `landform tools` and use it through TF_CLI_CONFIG_FILE=$(landform tools --terraform-config).",
    );
  }
  const versions = (env.PLUGIN_PROTOCOL_VERSIONS ?? String(PROTOCOL_VERSION)).split(",").map((v) => v.trim());
  if (!versions.includes(String(PROTOCOL_VERSION))) {
    throw new HandshakeError(
      `this plugin speaks plugin protocol ${PROTOCOL_VERSION}; the client offers ${versions.join(", ")} (Terraform 1.0 or later is needed)`,
    );
  }
}

/**
 * Serves `methods` (tfplugin6.Provider) plus the controller and health
 * services, and prints the handshake line once the port is bound.
 */
export async function servePlugin(
  methods: Record<string, Method>,
  handlers: Record<string, Handler>,
  options: ServeOptions = {},
): Promise<RunningPlugin> {
  const env = options.env ?? process.env;
  checkEnvironment(env);
  const { log, logs } = options.log ?? stderrLog();

  const routes = new Map<string, UnaryMethod>();
  const route = (name: string, m: Method, handler: Handler) =>
    routes.set(m.path, async (bytes) => {
      const started = performance.now();
      try {
        const response = await handler(codec.decode(m.request, bytes));
        const encoded = codec.encode(m.response, response);
        // Under TF_LOG=trace: where a run's time goes, call by call.
        if (logs("trace")) {
          log("trace", `${name} served`, {
            rpc: name,
            duration_ms: Math.round((performance.now() - started) * 10) / 10,
          });
        }
        return encoded;
      } catch (error) {
        log("error", `${name} failed`, { error: error instanceof Error ? error.stack : String(error) });
        throw error;
      }
    });
  for (const [name, m] of Object.entries(methods)) {
    const handler = handlers[name];
    if (handler) route(name, m, handler);
  }

  let server: GrpcServer | undefined;
  const exit = options.exit ?? (() => process.exit(0));
  route("Shutdown", controllerShutdown, () => {
    log("debug", "shutdown requested by the client");
    // Answer first (give the reply a moment to leave), then exit at once: Terraform
    // waits for the process to end and kills it after 2 s otherwise.
    setTimeout(() => {
      server?.destroy();
      exit();
    }, 5);
    return {};
  });
  route("Check", healthCheck, () => ({ status: 1 }));

  const clientCert = env.PLUGIN_CLIENT_CERT;
  let certText = "";
  if (clientCert) {
    const identity = options.identity ?? createTlsIdentity();
    server = await serveGrpc(
      routes,
      { clientCertPem: clientCert, keyPem: identity.keyPem, certPem: identity.certPem },
      options.onDisconnect,
    );
    certText = handshakeCert(identity.certDer);
  } else {
    // Only when the client disabled TLS (TF_DISABLE_PLUGIN_TLS=1).
    server = await serveGrpc(routes, undefined, options.onDisconnect);
  }
  const running = server;
  const handshake = `1|${PROTOCOL_VERSION}|tcp|127.0.0.1:${running.port}|grpc|${certText}`;
  (options.out ?? ((line: string) => process.stdout.write(`${line}\n`)))(handshake);
  let stopping: Promise<void> | undefined;
  return {
    port: running.port,
    handshake,
    stop: () => {
      stopping ??= running.close();
      return stopping;
    },
  };
}
