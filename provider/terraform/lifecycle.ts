/**
 * Terraform's side of the shared lifecycle (provider/core/lifecycle: create,
 * update and delete, each waiting for the state it leads to within its
 * deadline). It adds what Terraform asks of it: `timeouts` from the resource
 * block, and cancellation when Terraform calls StopProvider.
 *
 * The lifecycle loads the SDK (zod, undici), so it is loaded on the first
 * apply only: most plugin processes of a run serve a schema, a validation or
 * a plan and end.
 */
import type { CodesphereClient } from "../../sdk/client";
import type * as core from "../core/lifecycle";

export type CoreLifecycle = typeof core;

let loaded: Promise<CoreLifecycle> | undefined;

/** The shared lifecycle module, loaded once. */
export function loadLifecycle(): Promise<CoreLifecycle> {
  loaded ??= import("../core/lifecycle.js");
  return loaded;
}

/** A lifecycle on `client`; Terraform keeps no intents journal (its state records a create that did not settle). */
export async function lifecycleFor(client: CodesphereClient): Promise<core.ManagedServiceLifecycle> {
  const { ManagedServiceLifecycle } = await loadLifecycle();
  return new ManagedServiceLifecycle(client);
}
