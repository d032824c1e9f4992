/**
 * The console's only way to the server: the public API with the bearer token
 * of the session, and the one sign-in extension. The token lives in this
 * tab's sessionStorage and nowhere else (not in a cookie, a URL or localStorage).
 */
import type { BackupEntry, EventPage, ManagedService, Provider } from "../../sdk/schemas";

export type { BackupEntry, EventPage, ManagedService, Provider };

export interface Session {
  token: string;
  team: number;
}

const KEY = "landform.session";

export function loadSession(): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Session | null;
    return s && typeof s.token === "string" && Number.isInteger(s.team) ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(s: Session | undefined): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

/** A refusal of the API, carrying its Problem JSON detail (which names the field and the rule). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Called on a 401: the token no longer works, so the session ends. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

async function call<T>(
  session: Session | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (session) headers.authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    cache: "no-store",
  });
  const text = await res.text();
  if (!res.ok) {
    let detail = `${res.status} ${res.statusText}`;
    try {
      const problem = JSON.parse(text) as { detail?: string; title?: string };
      detail = problem.detail ?? problem.title ?? detail;
    } catch {
      // not Problem JSON: keep the status line
    }
    if (res.status === 401 && session) onUnauthorized();
    throw new ApiError(res.status, detail);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Trades the one-time code of a sign-in link for the token it stands for. */
export async function redeemSignInCode(code: string): Promise<Session> {
  const got = await call<{ token: string; teams: number[] }>(
    undefined,
    "POST",
    "/_landform/console/sign-in",
    {
      code,
    },
  );
  return { token: got.token, team: got.teams[0] ?? 0 };
}

const SERVICES = "/api/managed-services";

/** The public managed-services API, bound to one session. */
export function apiFor(s: Session) {
  const id = (serviceId: string) => `${SERVICES}/${encodeURIComponent(serviceId)}`;
  return {
    providers: () => call<Provider[]>(s, "GET", `${SERVICES}/providers?teamId=${s.team}`),
    services: (includeDeleted: boolean) =>
      call<ManagedService[]>(s, "GET", `${SERVICES}?team=${s.team}&includeDeleted=${includeDeleted}`),
    service: (serviceId: string) => call<ManagedService>(s, "GET", id(serviceId)),
    create: (body: Record<string, unknown>) => call<ManagedService>(s, "POST", SERVICES, body),
    update: (serviceId: string, body: Record<string, unknown>) =>
      call<ManagedService>(s, "PATCH", id(serviceId), body),
    remove: (serviceId: string) => call<void>(s, "DELETE", id(serviceId)),
    backUpNow: (serviceId: string) => call<BackupEntry>(s, "POST", `${id(serviceId)}/backups`),
    events: (serviceId: string, cursor?: string) =>
      call<EventPage>(
        s,
        "GET",
        `${id(serviceId)}/events?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      ),
  };
}

export type Api = ReturnType<typeof apiFor>;
