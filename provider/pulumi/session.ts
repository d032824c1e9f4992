/**
 * What one dynamic provider process keeps: one API client per API and token,
 * one catalog per API and team, and the watch on the engine that started it.
 */
import * as os from "node:os";
import * as path from "node:path";
import { CodesphereClient } from "../../sdk/client";
import type * as schemas from "../../sdk/schemas";
import { findProvider } from "../core/catalog-checks";
import { resolveConnection } from "../core/connection";
import { CreateIntents } from "../core/intents";
import { ManagedServiceLifecycle } from "../core/lifecycle";
import { isUnknown, type ServiceInputs, type ServiceOutputs } from "./shapes";
import { unsealed } from "./wire";

// ---------------------------------------------------------------- the engine's lifetime

/**
 * The engine starts providers in their own process group, so a CLI killed
 * with SIGKILL leaves this process running: it would finish a create nobody
 * records and clear the intent that lets the next run recognise it. When the
 * CLI (our parent) is gone, stop at once and leave the intents in place.
 */
const engineParent = process.ppid;
setInterval(() => {
  if (process.ppid !== engineParent) process.exit(70);
}, 250).unref();

// ---------------------------------------------------------------- process-wide caches

const clients = new Map<string, CodesphereClient>();
const catalogs = new Map<string, Promise<schemas.Provider[]>>();

export function lifecycleFor(connection: ServiceInputs["__connection"]): ManagedServiceLifecycle {
  const resolved = resolveConnection(
    { apiUrl: connection.apiUrl, token: connection.token },
    process.env,
    "stack config (codesphere:apiUrl, codesphere:token)",
  );
  const key = `${resolved.apiUrl}\0${resolved.token}`;
  let client = clients.get(key);
  if (!client) {
    client = new CodesphereClient({ baseUrl: resolved.apiUrl, token: resolved.token });
    clients.set(key, client);
  }
  return new ManagedServiceLifecycle(client, { intents: new CreateIntents(intentsDir()) });
}

/** The live catalog for a team, fetched once per provider process. */
export function catalogFor(lifecycle: ManagedServiceLifecycle, teamId: number): Promise<schemas.Provider[]> {
  const key = `${lifecycle.client.baseUrl}\0${teamId}`;
  let catalog = catalogs.get(key);
  if (!catalog) {
    catalog = lifecycle.client.providers.list({ teamId });
    catalogs.set(key, catalog);
    catalog.catch(() => catalogs.delete(key));
  }
  return catalog;
}

export async function catalogEntry(
  lifecycle: ManagedServiceLifecycle,
  teamId: number,
  provider: { name: string; version: string },
): Promise<schemas.Provider | undefined> {
  return findProvider(await catalogFor(lifecycle, teamId), provider.name, provider.version);
}

export function intentsDir(): string {
  const home = process.env.PULUMI_HOME || path.join(os.homedir(), ".pulumi");
  return path.join(home, "landform", "create-intents");
}

/** The connection recorded in state, or the one the new inputs carry. */
export function connectionOf(olds: ServiceOutputs, news?: ServiceInputs): ServiceInputs["__connection"] {
  if (news?.__connection && !isUnknown(news.__connection.apiUrl)) return news.__connection;
  const c = olds.__connection ?? {};
  return { apiUrl: c.apiUrl, ...(c.token !== undefined ? { token: unsealed(c.token) as string } : {}) };
}
