/**
 * Entry point of the Terraform provider plugin `landform/codesphere`
 * (started by the launcher that `landform tools` puts in the provider
 * mirror), or the resident provider that serves the launcher's sessions.
 * Loads as little as possible before the handshake: Terraform starts a new
 * plugin process for every phase of a run.
 */
import * as nodeModule from "node:module";
import { HandshakeError, servePlugin } from "./plugin";
import { providerMethods } from "./protocol";

// Node.js 22.1 and later keep V8's compiled code of the bundle's lazy chunks
// (the SDK, the catalog checks) between plugin processes: a quarter off
// loading them. Node 20 has no such cache; the call is then skipped.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

async function main(): Promise<void> {
  // go-plugin plugins ignore interrupts: Terraform handles Ctrl-C and calls StopProvider.
  process.on("SIGINT", () => {});
  const { landformProvider } = await import("./landform-provider.js");
  await servePlugin(providerMethods, landformProvider());
}

/** `main.js --resident DIR`: the resident provider the launcher starts (./resident). */
async function resident(dir: string): Promise<void> {
  // Terraform's Ctrl-C reaches the resident too (same process group); sessions end by Shutdown.
  process.on("SIGINT", () => {});
  const { runResident } = await import("./resident.js");
  const running = await runResident({ dir, entry: process.argv[1] ?? "" });
  if (!running) process.exit(0); // another resident serves this folder
}

(process.argv[2] === "--resident" && process.argv[3] ? resident(process.argv[3]) : main()).catch(
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof HandshakeError ? error.message : error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exit(1);
  },
);
