/**
 * The contract calls on services of the reference backends: list and get,
 * create (with `recoverFrom`), update and delete. ./server.ts routes a
 * request here once it has found the provider and passed the fault injector;
 * the calls themselves read and write the store and hand engine-backed
 * services to the engine manager. Backup calls go to `Backups` instead.
 */
import { randomUUID } from "node:crypto";
import { isReady, provision, reported, request, type ServiceState, settle, type Values } from "./operations";
import type { ProviderProfile, UpdateInput } from "./providers";
import type { ServerDeps } from "./server";
import { dataUrl } from "./server-data";
import {
  type Answer,
  fail,
  objectBody,
  plan,
  positiveTeamId,
  serviceId,
  subdomain,
  values,
} from "./server-http";
import { recoveryRequest, startRecovery } from "./server-recovery";
import type { StoredService } from "./store";

/** The due time of a service waiting for its data set: provisioning ends when the recovery does. */
const RECOVERING_DUE = Number.MAX_SAFE_INTEGER;
/** The due time of an operation on an engine-backed service: it ends when the server has converged. */
const ENGINE_DUE = Number.MAX_SAFE_INTEGER;

export function listOrGet(deps: ServerDeps, profile: ProviderProfile, url: URL): Answer {
  if (!url.searchParams.has("id")) return { status: 200, body: deps.store.listIds(profile.name) };
  const now = deps.now();
  const out: Record<string, unknown> = {};
  for (const id of url.searchParams.getAll("id")) {
    const s = deps.store.get(profile.name, id);
    if (s) out[id] = view(deps, profile, s, now);
  }
  return { status: 200, body: out };
}

/**
 * The GET answer for one service; built from its spec, never from its
 * secrets. An engine-backed service is ready only while its server is up, and
 * says why it is not (a crash being restarted, a start that failed) in `error`.
 */
function view(deps: ServerDeps, profile: ProviderProfile, s: StoredService, now: number): Values {
  const state = settle(s, now);
  const spec = reported(state);
  const engine = deps.engines.status(profile.name, s.id);
  const ready = isReady(state) && (engine === undefined || engine.live);
  const error = s.recoveryError ?? (engine && !spec.pause ? engine.error : undefined);
  return {
    plan: { parameters: spec.parameters },
    config: spec.config,
    details: profile.details({
      id: s.id,
      spec,
      phase: state.phase,
      ready,
      ...(engine
        ? {
            engine: {
              port: engine.port,
              restarts: engine.restarts,
              ...(engine.serverVersion ? { serverVersion: engine.serverVersion } : {}),
              ...(engine.endpoint ? { endpoint: engine.endpoint, bucket: engine.bucket ?? null } : {}),
            },
          }
        : { dataUrl: dataUrl(deps, profile, s.id) }),
    }),
    pause: state.observed?.pause ?? false,
    ...(error === undefined ? {} : { error }),
  };
}

export function create(
  deps: ServerDeps,
  profile: ProviderProfile,
  version: string | undefined,
  raw: Buffer,
): Answer {
  const body = objectBody(raw);
  const id = serviceId(body.id);
  const teamId = positiveTeamId(body.teamId);
  const customSubdomain = subdomain(body.customSubdomain) ?? undefined;
  const recovery =
    body.recoverFrom === undefined || body.recoverFrom === null
      ? undefined
      : recoveryRequest(profile, id, teamId, body.recoverFrom);
  const pause = body.pause ?? false;
  if (typeof pause !== "boolean") return fail(400, "pause must be a boolean");
  if (pause && !profile.canPause) return fail(501, `provider ${profile.name} cannot be paused`);
  const resolved = profile.create({
    plan: plan(body.plan) ?? { parameters: {} },
    pause,
    config: values(body.config, "config") ?? {},
    secrets: values(body.secrets, "secrets") ?? {},
    ...(customSubdomain === undefined ? {} : { customSubdomain }),
  });
  if (!("spec" in resolved)) return fail(422, resolved.problems.join("; "));
  if (recovery) {
    const refused = deps.backups.checkRecovery(recovery);
    if (refused) return refused;
  }

  const now = deps.now();
  const state = provision(resolved.spec, now, deps.operationDelayMs);
  const recoveryToken = recovery ? randomUUID() : undefined;
  if (recovery) state.dueAt = RECOVERING_DUE;
  const engine = deps.engines.canRun(profile.name, profile.effective(resolved.spec.config), version);
  if (engine) state.dueAt = ENGINE_DUE;
  const created = deps.store.transaction(() => {
    if (deps.store.get(profile.name, id)) return false;
    deps.store.insert(
      {
        ...state,
        provider: profile.name,
        id,
        teamId,
        secrets: resolved.secrets,
        createdAt: now,
        ...(recoveryToken ? { recoveryToken } : {}),
      },
      now,
    );
    return true;
  });
  if (!created) return fail(409, `service ${id} already exists`);
  if (engine) {
    deps.engines.adopt(profile.name, id, engine);
    // A recovered service's server first starts once the backup is in its folder (startRecovery).
    if (!recovery) deps.engines.sync(profile.name, id);
  }
  deps.log({
    level: "info",
    msg: "service created",
    provider: profile.name,
    id,
    teamId,
    phase: state.phase,
    ...(recovery ? { recoverFrom: recovery.source.kind } : {}),
  });
  if (recovery && recoveryToken) startRecovery(deps, recovery, recoveryToken);
  return { status: 201, body: { id } };
}

export function update(deps: ServerDeps, profile: ProviderProfile, id: string, raw: Buffer): Answer {
  const body = objectBody(raw);
  if (serviceId(body.id) !== id) return fail(400, "id in the body must equal the id in the path");
  const teamId = positiveTeamId(body.teamId);
  const input: UpdateInput = {};
  const p = plan(body.plan);
  if (p) input.plan = p;
  const config = values(body.config, "config");
  if (config) input.config = config;
  const secrets = values(body.secrets, "secrets");
  if (secrets) input.secrets = secrets;
  if (body.pause !== undefined && body.pause !== null) {
    if (typeof body.pause !== "boolean") return fail(400, "pause must be a boolean");
    input.pause = body.pause;
  }
  const sub = subdomain(body.customSubdomain);
  if (sub !== undefined) input.customSubdomain = sub;
  if (input.pause === true && !profile.canPause)
    return fail(501, `provider ${profile.name} cannot be paused`);

  const now = deps.now();
  const outcome = deps.store.transaction((): Answer | ServiceState => {
    const current = deps.store.get(profile.name, id);
    if (!current) return fail(404, `service ${id} not found`);
    if (current.teamId !== teamId) return fail(400, `teamId does not match the team of service ${id}`);
    const resolved = profile.update(current.desired, current.secrets, input);
    if (!("spec" in resolved)) return fail(422, resolved.problems.join("; "));
    const secretsChanged = JSON.stringify(resolved.secrets) !== JSON.stringify(current.secrets);
    const next = request(current, resolved.spec, secretsChanged, now, deps.operationDelayMs);
    // A service waiting for its data set stays provisioning whatever else changes.
    if (current.recoveryToken !== undefined || current.recoveryError !== undefined)
      next.dueAt = RECOVERING_DUE;
    else if (next.dueAt > now && deps.engines.backed(profile.name, id)) next.dueAt = ENGINE_DUE;
    deps.store.update({ ...current, ...next, secrets: resolved.secrets }, now);
    return next;
  });
  if ("status" in outcome) return outcome;
  if (deps.engines.backed(profile.name, id)) deps.engines.sync(profile.name, id);
  const sections = Object.keys(input);
  deps.log({
    level: "info",
    msg: "service updated",
    provider: profile.name,
    id,
    sections,
    phase: outcome.phase,
  });
  return { status: 204 };
}

export function remove(deps: ServerDeps, profile: ProviderProfile, id: string): Answer {
  if (!deps.store.delete(profile.name, id)) return fail(404, `service ${id} not found`);
  // The server stops and its folder goes in the background; the service is gone from the API at once.
  if (deps.engines.backed(profile.name, id)) deps.engines.sync(profile.name, id);
  deps.log({ level: "info", msg: "service deleted", provider: profile.name, id });
  return { status: 204 };
}
