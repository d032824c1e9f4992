/**
 * The reference backends' own endpoints beside the contract (./server.ts):
 * the data endpoint of simulated services and the admin fault settings.
 */
import { parseFaultSettings } from "./faults";
import { isReady, reported, type ServiceState, settle } from "./operations";
import type { ProviderProfile } from "./providers";
import type { ServerDeps } from "./server";
import {
  type Answer,
  fail,
  HttpError,
  MAX_KEY_LENGTH,
  methodNotAllowed,
  objectBody,
  parseJson,
} from "./server-http";

export function dataUrl(deps: ServerDeps, profile: ProviderProfile, id: string): string {
  return `${deps.baseUrl()}/api/v1/${profile.name}/${encodeURIComponent(id)}/data`;
}

export function existing(deps: ServerDeps, profile: ProviderProfile, id: string): ServiceState {
  const s = deps.store.get(profile.name, id);
  if (!s) throw new HttpError(404, `service ${id} not found`);
  if (deps.engines.backed(profile.name, id)) {
    throw new HttpError(
      404,
      `service ${id} runs a real server: connect with details.dsn (the data endpoint serves simulated services only)`,
    );
  }
  return settle(s, deps.now());
}

/** A service takes writes only while it runs: paused or between states it is offline. */
export function requireRunning(state: ServiceState, id: string): void {
  if (!isReady(state)) throw new HttpError(409, `service ${id} is ${state.phase} and does not accept writes`);
}

export function readData(deps: ServerDeps, profile: ProviderProfile, id: string): Answer {
  existing(deps, profile, id);
  return { status: 200, body: deps.store.readData(profile.name, id) };
}

export function writeData(
  deps: ServerDeps,
  profile: ProviderProfile,
  id: string,
  key: string,
  raw: Buffer,
): Answer {
  if (key.length > MAX_KEY_LENGTH) return fail(400, `key must be at most ${MAX_KEY_LENGTH} characters`);
  const body = objectBody(raw);
  if (!("value" in body)) return fail(400, "value is required");
  const state = existing(deps, profile, id);
  requireRunning(state, id);
  checkQuota(deps, profile, id, key, body.value, reported(state).parameters);
  deps.store.putData(profile.name, id, key, body.value, deps.now());
  return { status: 204 };
}

export function deleteData(deps: ServerDeps, profile: ProviderProfile, id: string, key: string): Answer {
  const state = existing(deps, profile, id);
  requireRunning(state, id);
  if (!deps.store.deleteData(profile.name, id, key, deps.now())) return fail(404, `no key ${key}`);
  return { status: 204 };
}

/** Plans that limit objects or size (s3) hold the data set to them. */
export function checkQuota(
  deps: ServerDeps,
  profile: ProviderProfile,
  id: string,
  key: string,
  value: unknown,
  parameters: Record<string, number>,
): void {
  const { maxObjects, maxSizeKb } = parameters;
  if (maxObjects === undefined && maxSizeKb === undefined) return;
  const usage = deps.store.dataUsage(profile.name, id, key);
  if (maxObjects !== undefined && usage.keys + 1 > maxObjects) {
    throw new HttpError(422, `the plan allows at most ${maxObjects} objects (maxObjects)`);
  }
  const bytes = usage.bytes + Buffer.byteLength(JSON.stringify(value));
  if (maxSizeKb !== undefined && bytes > maxSizeKb * 1024) {
    throw new HttpError(422, `the plan allows at most ${maxSizeKb} KiB of data (maxSizeKb)`);
  }
}

export function adminFaults(deps: ServerDeps, method: string, raw: Buffer): Answer {
  switch (method) {
    case "GET":
      return { status: 200, body: deps.faults.get() };
    case "POST": {
      const settings = parseFaultSettings(parseJson(raw), new Set(deps.profiles.keys()));
      if (typeof settings === "string") return fail(400, settings);
      deps.faults.set(settings);
      deps.log({ level: "info", msg: "faults set", ...settings });
      return { status: 200, body: deps.faults.get() };
    }
    case "DELETE":
      deps.faults.clear();
      deps.log({ level: "info", msg: "faults cleared" });
      return { status: 204 };
    default:
      return methodNotAllowed(["GET", "POST", "DELETE"]);
  }
}
