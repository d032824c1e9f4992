/**
 * The HTTP side of the reference backends: one node:http handler serving
 * every bundled provider under `/api/v1/<provider>`.
 *
 * Contract calls (see ../../../../shared/contract/provider-backend-contract.md,
 * relative to `/api/v1/<provider>`):
 *
 *   GET    ""                       200 [ids]
 *   GET    ""?id=A&id=B             200 {A: {plan: {parameters}, config, details, pause, error?}, ...}
 *   POST   ""                       201 {id}; 409 if it exists; 400 bad envelope; 422 against the schemas
 *                                   (EXTENSION: `pause: true` creates the service paused)
 *                                   `recoverFrom: {id, config, secrets}` restores a backup's data set,
 *                                   `recoverFrom: {msId, time, config, secrets}` the data set service
 *                                   msId had at `time` (ISO 8601 or ms since the epoch), for providers
 *                                   with pointInTimeRecovery (EXTENSION: `msId` next to `id` names the
 *                                   service the backup was taken of). The service stays provisioning
 *                                   until the data set is restored; a failure is its `error`.
 *   PATCH  /ID                      204; 404 unknown; 400 when body id != path id; 422 against the schemas
 *   DELETE /ID                      204; 404 unknown
 *   PUT    /backups/BID             202; the backup is uploaded in the background (./store-backups.ts)
 *   POST   /backups/BID/status      200 {exists, error?}
 *   DELETE /backups/BID             202; the object is deleted in the background
 *
 * Backup calls: 400 without msId or teamId, 404 on PUT for a service the
 * backend does not hold and on status for a backup neither it nor the store
 * knows, 409 for a backup id used by another service, 422 when the backup
 * store's config or secrets are incomplete, 501 for a provider without
 * backups. Status and DELETE work for services already deleted (retention).
 *
 * EXTENSION of the GET answer: `pause` at the top level is the pause state the
 * backend has reached (not the requested one), so a control plane can tell
 * when a pause or resume has finished; `details.phase` says what the backend
 * is doing, and `details.ready` is true only when it is `running`.
 *
 * 400 is a malformed request (not JSON, a missing id or team, a section of the
 * wrong type); 422 is a well-formed request that breaks the provider's schemas
 * or an update constraint (`x-update-constraint`); 501 asks for what the
 * provider cannot do (backups of s3 or ferretdb, point-in-time recovery
 * where the provider has none).
 *
 * `postgresql` also answers at `/api/v1/postgresql/vNN` (one endpoint per
 * catalog version; the version picks the PostgreSQL major of a new service).
 * Services of postgres, postgresql and redis run real servers (./engines):
 * their operations end when the server has converged, `ready` needs the server
 * up, and a server being restarted after a crash is the service's `error`.
 *
 * Data endpoint (simulated services only; same key; not a contract call, so
 * faults do not touch it):
 *
 *   GET    /ID/data                 200 {key: value}; readable while paused
 *   PUT    /ID/data/KEY  {value}    204; 409 unless the service is running
 *   DELETE /ID/data/KEY             204; 404 no such key; 409 unless running
 *
 * Admin (same key): GET, POST {failNext?, failRate?, latencyMs?, status?,
 * provider?} (replaces the settings; 200 with them) and DELETE (204) on
 * `/admin/faults`. At the root and without a key: `GET /health`, `GET /ready`.
 */
import { randomUUID } from "node:crypto";
import type http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { BackupRequest, Backups } from "./backups";
import type { EngineManager } from "./engines";
import type { FaultInjector } from "./faults";
import { isReady, provision, reported, request, type ServiceState, settle, type Values } from "./lifecycle";
import type { ProviderProfile, UpdateInput } from "./providers";
import { adminFaults, dataUrl, deleteData, readData, writeData } from "./server-data";
import {
  type Answer,
  authorized,
  fail,
  HttpError,
  methodNotAllowed,
  objectBody,
  plan,
  positiveTeamId,
  readBody,
  segments,
  send,
  serviceId,
  subdomain,
  unauthorized,
  values,
} from "./server-http";
import { recoveryRequest, startRecovery } from "./server-recovery";
import type { ReferenceStore, StoredService } from "./store";
import type { Tasks } from "./tasks";

export interface ServerDeps {
  store: ReferenceStore;
  profiles: ReadonlyMap<string, ProviderProfile>;
  faults: FaultInjector;
  backups: Backups;
  /** The real servers of engine-backed services (./engines). */
  engines: EngineManager;
  /** Work done after answering (recoveries), so a shutdown can wait for it. */
  tasks: Tasks;
  /** Every call but /health and /ready must carry it (there is no unkeyed mode). */
  key: string;
  operationDelayMs: number;
  now: () => number;
  log: (rec: Record<string, unknown>) => void;
  /** The URL clients reach this server at (known once it listens). */
  baseUrl: () => string;
}

/** The due time of a service waiting for its data set: provisioning ends when the recovery does. */
const RECOVERING_DUE = Number.MAX_SAFE_INTEGER;
/** The due time of an operation on an engine-backed service: it ends when the server has converged. */
const ENGINE_DUE = Number.MAX_SAFE_INTEGER;
/** A catalog version in an endpoint, `/api/v1/postgresql/v15`: picks the engine's major. */
const VERSION_SEGMENT = /^v[0-9]+$/;

export function requestHandler(deps: ServerDeps): http.RequestListener {
  return (req, res) => {
    void handle(deps, req, res);
  };
}

async function handle(deps: ServerDeps, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const started = performance.now();
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://localhost");
  let answer: Answer;
  try {
    const raw = await readBody(req);
    answer = await route(deps, method, url, req.headers, raw);
  } catch (err) {
    if (err instanceof HttpError) {
      answer = fail(err.status, err.message);
    } else {
      // Messages of our own code and of SQLite carry no request values; bodies are never echoed.
      deps.log({
        level: "error",
        msg: "unhandled error",
        error: err instanceof Error ? err.message : String(err),
      });
      answer = fail(500, "internal error");
    }
  }
  send(res, answer);
  deps.log({
    level: answer.status >= 500 ? "warn" : "info",
    msg: "request",
    method,
    path: url.pathname,
    status: answer.status,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
  });
}

async function route(
  deps: ServerDeps,
  method: string,
  url: URL,
  headers: http.IncomingHttpHeaders,
  raw: Buffer,
): Promise<Answer> {
  const path = segments(url.pathname);
  if (path.length === 1 && (path[0] === "health" || path[0] === "ready")) {
    if (method !== "GET") return methodNotAllowed(["GET"]);
    if (path[0] === "ready" && !deps.store.ping()) return fail(503, "the database does not answer");
    return { status: 200, body: { status: "ok" } };
  }
  if (!authorized(headers, deps.key)) return unauthorized();

  if (path.length === 2 && path[0] === "admin" && path[1] === "faults") return adminFaults(deps, method, raw);
  if (path.length >= 3 && path[0] === "api" && path[1] === "v1") {
    const profile = deps.profiles.get(path[2]!);
    if (!profile) return fail(404, `unknown provider ${path[2]}`);
    // Providers with several catalog versions have one endpoint per version; the bare one serves the newest.
    const versioned =
      path[3] !== undefined && VERSION_SEGMENT.test(path[3]) && profile.versions.includes(path[3]);
    const version = versioned ? path[3] : undefined;
    return providerRoute(deps, profile, version, method, path.slice(versioned ? 4 : 3), url, raw);
  }
  return fail(404, "not found");
}

async function providerRoute(
  deps: ServerDeps,
  profile: ProviderProfile,
  version: string | undefined,
  method: string,
  rest: string[],
  url: URL,
  raw: Buffer,
): Promise<Answer> {
  const [first, second, third] = rest;
  if (first !== undefined && first !== "backups" && second === "data") {
    if (rest.length === 2)
      return method === "GET" ? readData(deps, profile, first) : methodNotAllowed(["GET"]);
    if (rest.length === 3 && third) {
      if (method === "PUT") return writeData(deps, profile, first, third, raw);
      if (method === "DELETE") return deleteData(deps, profile, first, third);
      return methodNotAllowed(["PUT", "DELETE"]);
    }
    return fail(404, "not found");
  }

  let run: (() => Promise<Answer> | Answer) | undefined;
  if (rest.length === 0) {
    if (method === "GET") run = () => listOrGet(deps, profile, url);
    else if (method === "POST") run = () => create(deps, profile, version, raw);
    else return methodNotAllowed(["GET", "POST"]);
  } else if (first === "backups" && second && rest.length === 2) {
    if (method === "PUT") run = () => deps.backups.take(backupRequest(profile, second, raw));
    else if (method === "DELETE") run = () => deps.backups.remove(backupRequest(profile, second, raw));
    else return methodNotAllowed(["PUT", "DELETE"]);
  } else if (first === "backups" && second && third === "status" && rest.length === 3) {
    if (method === "POST") run = () => deps.backups.status(backupRequest(profile, second, raw));
    else return methodNotAllowed(["POST"]);
  } else if (first && rest.length === 1) {
    if (method === "PATCH") run = () => update(deps, profile, first, raw);
    else if (method === "DELETE") run = () => remove(deps, profile, first);
    else return methodNotAllowed(["PATCH", "DELETE"]);
  } else {
    return fail(404, "not found");
  }

  const fault = deps.faults.decide(profile.name);
  if (fault.latencyMs > 0) await sleep(fault.latencyMs);
  if (fault.failStatus !== undefined) {
    deps.log({
      level: "info",
      msg: "fault injected",
      provider: profile.name,
      method,
      status: fault.failStatus,
    });
    return fail(fault.failStatus, "injected fault");
  }
  return run();
}

// ---------------------------------------------------------------- contract calls

function listOrGet(deps: ServerDeps, profile: ProviderProfile, url: URL): Answer {
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

function create(
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

function update(deps: ServerDeps, profile: ProviderProfile, id: string, raw: Buffer): Answer {
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

function remove(deps: ServerDeps, profile: ProviderProfile, id: string): Answer {
  if (!deps.store.delete(profile.name, id)) return fail(404, `service ${id} not found`);
  // The server stops and its folder goes in the background; the service is gone from the API at once.
  if (deps.engines.backed(profile.name, id)) deps.engines.sync(profile.name, id);
  deps.log({ level: "info", msg: "service deleted", provider: profile.name, id });
  return { status: 204 };
}

function backupRequest(profile: ProviderProfile, backupId: string, raw: Buffer): BackupRequest {
  if (!profile.canBackup) throw new HttpError(501, `provider ${profile.name} has no backups`);
  const body = objectBody(raw);
  if (typeof body.msId !== "string" || body.msId === "") throw new HttpError(400, "msId is required");
  const retentionDays = body.retentionDays;
  if (
    retentionDays !== undefined &&
    (!Number.isSafeInteger(retentionDays) || (retentionDays as number) < 1)
  ) {
    throw new HttpError(400, "retentionDays must be a positive integer");
  }
  return {
    provider: profile.name,
    backupId,
    msId: body.msId,
    teamId: positiveTeamId(body.teamId),
    config: values(body.config, "config") ?? {},
    secrets: values(body.secrets, "secrets") ?? {},
    ...(retentionDays === undefined ? {} : { retentionDays: retentionDays as number }),
  };
}
