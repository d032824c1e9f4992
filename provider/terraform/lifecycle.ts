/**
 * Create, update and delete of a managed service, each waiting for the state
 * it leads to, with a deadline, and cancelled when Terraform asks the
 * provider to stop. Failures carry the service's latest events (from the SDK
 * waiters).
 */
import { randomUUID } from "node:crypto";
import type { CodesphereClient } from "../../sdk/client";
import type * as schemas from "../../sdk/schemas";

export const DEFAULT_TIMEOUTS = { create: 20 * 60_000, update: 20 * 60_000, delete: 10 * 60_000 };

export interface WaitSettings {
  timeoutMs: number;
  signal: AbortSignal;
}

/** The state a service settles in: paused when asked to pause, else synchronized. */
export function settledState(pause: boolean): "paused" | "synchronized" {
  return pause ? "paused" : "synchronized";
}

export async function createService(
  client: CodesphereClient,
  body: schemas.CreateManagedServiceRequest,
  pause: boolean,
  wait: WaitSettings,
  onCreated: (service: schemas.ManagedService) => void,
): Promise<schemas.ManagedService> {
  const { waitForState } = await import("../../sdk/waiters.js");
  const started = Date.now();
  const created = await client.managedServices.create(body, {
    idempotencyKey: randomUUID(),
    signal: wait.signal,
  });
  onCreated(created);
  const remaining = () => Math.max(1, wait.timeoutMs - (Date.now() - started));
  let service = await waitForState(client, created.id, "synchronized", {
    timeoutMs: remaining(),
    signal: wait.signal,
  });
  if (pause) {
    await client.managedServices.update(created.id, { pause: true }, { signal: wait.signal });
    service = await waitForState(client, created.id, "paused", {
      timeoutMs: remaining(),
      signal: wait.signal,
    });
  }
  return service;
}

export async function updateService(
  client: CodesphereClient,
  id: string,
  body: schemas.UpdateManagedServiceRequest,
  pause: boolean,
  wait: WaitSettings,
): Promise<schemas.ManagedService> {
  const { waitForState } = await import("../../sdk/waiters.js");
  if (Object.keys(body).length > 0) await client.managedServices.update(id, body, { signal: wait.signal });
  return waitForState(client, id, settledState(pause), { timeoutMs: wait.timeoutMs, signal: wait.signal });
}

export async function deleteService(client: CodesphereClient, id: string, wait: WaitSettings): Promise<void> {
  const { waitForDeleted } = await import("../../sdk/waiters.js");
  const { NotFoundError } = await import("../../sdk/errors.js");
  try {
    await client.managedServices.delete(id, { signal: wait.signal });
  } catch (error) {
    if (error instanceof NotFoundError) return;
    throw error;
  }
  await waitForDeleted(client, id, { timeoutMs: wait.timeoutMs, signal: wait.signal });
}
