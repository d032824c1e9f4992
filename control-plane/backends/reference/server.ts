/**
 * The HTTP side of the reference backends: one node:http handler serving
 * every bundled provider under `/api/v1/<provider>`. This file routes and
 * injects faults; the calls on services are ./server-services.ts's, the data
 * endpoint and admin ./server-data.ts's, recovery ./server-recovery.ts's.
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
import type http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { BackupRequest, Backups } from "./backups";
import type { EngineManager } from "./engines";
import type { FaultInjector } from "./faults";
import type { ProviderProfile } from "./providers";
import { adminFaults, deleteData, readData, writeData } from "./server-data";
import {
  type Answer,
  authorized,
  fail,
  HttpError,
  methodNotAllowed,
  objectBody,
  positiveTeamId,
  readBody,
  segments,
  send,
  unauthorized,
  values,
} from "./server-http";
import { create, listOrGet, remove, update } from "./server-services";
import type { ReferenceStore } from "./store";
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

/** A backup call's body, checked as the contract says, for `Backups`. */
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
