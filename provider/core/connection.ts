/**
 * Where the API is and who calls it. Each engine finds the settings its own
 * way (Pulumi stack config, Terraform provider block) and falls back to the
 * platform's environment names, CS_API, CS_TOKEN and CS_TEAM_ID.
 */
import { CodesphereClient } from "../../sdk/client";

export interface Connection {
  apiUrl: string;
  token: string;
}

export interface ConnectionSettings {
  apiUrl?: string | undefined;
  token?: string | undefined;
  teamId?: number | string | undefined;
}

/** Explicit settings first, then the environment; throws naming both places when one is missing. */
export function resolveConnection(
  explicit: ConnectionSettings,
  env: NodeJS.ProcessEnv = process.env,
  where = "the provider settings",
): Connection {
  const apiUrl = explicit.apiUrl || env.CS_API;
  const token = explicit.token || env.CS_TOKEN;
  if (!apiUrl)
    throw new Error(`No Codesphere API URL: set it in ${where} or the CS_API environment variable`);
  if (!token)
    throw new Error(`No Codesphere API token: set it in ${where} or the CS_TOKEN environment variable`);
  return { apiUrl, token };
}

/** The team from the explicit setting, else CS_TEAM_ID; undefined when neither is set. */
export function resolveTeamId(
  explicit: number | string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): number | undefined {
  const raw = explicit ?? env.CS_TEAM_ID;
  if (raw === undefined || raw === "") return undefined;
  const n = typeof raw === "number" ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`team id must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** A client for the connection: keep-alive, retries, the SDK's defaults. */
export function clientFor(connection: Connection): CodesphereClient {
  return new CodesphereClient({ baseUrl: connection.apiUrl, token: connection.token });
}
