/**
 * The control plane's own share of an apply: from the first creation request
 * to the last ServiceSynchronized event among a run's services. No provider
 * can create them faster than this; what an engine's run takes beyond it (and
 * beyond its no-op floor) is the engine and the provider.
 */
import type { CodesphereClient } from "../../sdk";

/** Milliseconds from the first creation request to the last ServiceSynchronized among team 1's services named `prefix*`. */
export async function controlPlaneWindow(client: CodesphereClient, prefix: string): Promise<number> {
  const services = (await client.managedServices.list({ team: 1 })).filter((s) => s.name.startsWith(prefix));
  if (services.length === 0) throw new Error(`no services named ${prefix}*`);
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const service of services) {
    first = Math.min(first, Date.parse(service.createdAt));
    const { events } = await client.managedServices.events(service.id);
    const synced = events.findLast((e) => e.eventName === "ServiceSynchronized");
    if (!synced) throw new Error(`${service.name} has no ServiceSynchronized event`);
    last = Math.max(last, Date.parse(synced.timestamp));
  }
  return last - first;
}
