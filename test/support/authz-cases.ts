/**
 * The cross-team cases of test/control-plane.authz.test.ts: for each
 * operation of the API, what team B (and the admin token, and a token of
 * both teams) try against team A's objects, and the answer each must get.
 */

/** Bearer tokens of the suite, named by whom they act for. */
export const A = "authz-team-a"; // team 1
export const B = "authz-team-b"; // team 2
export const ADMIN = "authz-admin"; // admin, no team
export const AB = "authz-team-ab"; // teams 1 and 2
export type Who = typeof A | typeof B | typeof ADMIN | typeof AB;
export const TOKENS = [`${A}=1`, `${B}=2`, `${ADMIN}=admin`, `${AB}=1,2`];

// Distinctive values: team A's secrets, and team B's (the capture server's positive control).
export const A_SECRETS = { password: "a-pw-Kx83-saffron-kettle", username: "a_user_lm27_quarry" };
export const B_SECRETS = { password: "b-pw-Qa55-walnut-signal", username: "b_user_tz90_harbor" };
export const A_PROVIDER_KEY = "a-provider-key-Hd62-copper";
export const B_PROVIDER_KEY = "b-provider-key-Wn41-ember";
/** What team A must never see arrive at team B's backend. */
export const A_NEEDLES = [...Object.values(A_SECRETS), A_PROVIDER_KEY];

export interface Attempt {
  who: Who;
  params?: Record<string, string>;
  query?: string;
  body?: unknown;
  /** The answer this attempt must get, and what its detail must say when the status alone is ambiguous. */
  status: number;
  detail?: RegExp;
  why: string;
}

/** A provider definition (postgresql v15's, under another name) on `endpoint` with `key`. */
export function providerBody(
  definition: Record<string, unknown>,
  name: string,
  endpoint: string,
  key: string,
  scope?: unknown,
): Record<string, unknown> {
  return {
    ...definition,
    name,
    version: "v1",
    capabilities: { pause: false, backups: false },
    ...(scope ? { scope } : {}),
    backend: { api: { endpoint, secret: key } },
  };
}

export function service(teamId: number, name: string, providerName: string, secrets: Record<string, string>) {
  return {
    teamId,
    name,
    provider: { name: providerName, version: providerName === "postgresql" ? "15" : "v1" },
    plan: { id: 1, parameters: { storage: 10 } },
    config: { max_connections: "100" },
    secrets,
  };
}

export const bundledPg = { name: "postgresql", schemaVersion: "v15" };
const pgName = (name: string) => ({ name, schemaVersion: "v1" });

export interface Fixtures {
  /** postgresql v15's definition without backend, scope and version. */
  definition: Record<string, unknown>;
  /** Team B's backend. */
  captureUrl: string;
  /** Team A's services. */
  services: string[];
}

/**
 * For each operation, what the other team (and the admin, and a token of both
 * teams) try against team A's objects, and what each answer must be. Keyed by
 * operationId: the test below fails when the route table has one without a case.
 */
export function crossTeamCases(f: Fixtures): Record<string, () => Attempt[]> {
  const provider = (name: string, scope?: unknown) =>
    providerBody(f.definition, name, f.captureUrl, B_PROVIDER_KEY, scope);
  const aServices = () => f.services.map((id) => ({ id }));
  return {
    "managed-services-listProviders": () => [
      { who: B, query: "teamId=1", status: 403, why: "team B lists team A's catalog" },
      { who: ADMIN, query: "teamId=1", status: 403, why: "an admin token acts for no team" },
    ],
    "managed-services-createProvider": () => [
      {
        who: B,
        body: provider("b-global"),
        status: 403,
        why: "a team token registers a global provider (scope omitted means global)",
      },
      {
        who: B,
        body: provider("b-wide", { type: "team", teamIds: [1, 2] }),
        status: 403,
        why: "team B registers a provider for team A",
      },
      {
        who: B,
        body: provider("a-pg", { type: "team", teamIds: [2] }),
        status: 409,
        why: "team B registers a provider under the name of team A's (names are one namespace)",
      },
      {
        who: B,
        body: provider("shared-pg", { type: "team", teamIds: [2] }),
        status: 409,
        why: "team B registers a team provider under the name of a global one",
      },
    ],
    "managed-services-upsertProvider": () => [
      {
        who: B,
        body: provider("shared-pg"),
        status: 403,
        why: "team B replaces a global provider",
      },
      {
        who: B,
        body: provider("shared-pg", { type: "team", teamIds: [2] }),
        status: 403,
        why: "team B replaces a global provider with a team one of its own",
      },
      {
        who: B,
        body: provider("a-pg", { type: "team", teamIds: [2] }),
        status: 404,
        why: "team B replaces team A's provider",
      },
      {
        who: B,
        body: provider("ab-pg", { type: "team", teamIds: [2] }),
        status: 403,
        why: "team B replaces a provider it shares with team A",
      },
      {
        who: B,
        body: provider("b-pg", { type: "team", teamIds: [1, 2] }),
        status: 403,
        why: "team B widens its own provider to team A",
      },
      {
        who: ADMIN,
        body: { ...provider("postgresql"), version: "v15" },
        status: 403,
        why: "even an admin token cannot replace a bundled provider",
      },
    ],
    "managed-services-updateProvider": () => [
      {
        who: B,
        params: pgName("shared-pg"),
        body: { backend: { api: { endpoint: f.captureUrl, secret: B_PROVIDER_KEY } } },
        status: 403,
        why: "team B points a global provider at its backend",
      },
      {
        who: B,
        params: pgName("shared-pg"),
        body: { scope: { type: "team", teamIds: [2] } },
        status: 403,
        why: "team B narrows a global provider to itself",
      },
      {
        who: B,
        params: bundledPg,
        body: { backend: { api: { endpoint: f.captureUrl } } },
        status: 403,
        why: "team B points a bundled provider at its backend",
      },
      {
        who: B,
        params: pgName("a-pg"),
        body: { backend: { api: { endpoint: f.captureUrl } } },
        status: 404,
        why: "team B points team A's provider at its backend",
      },
      {
        who: B,
        params: pgName("ab-pg"),
        body: { backend: { api: { endpoint: f.captureUrl } } },
        status: 403,
        why: "team B points a provider it shares with team A at its backend",
      },
      {
        who: B,
        params: pgName("b-pg"),
        body: { scope: { type: "team", teamIds: [1, 2] } },
        status: 403,
        why: "team B widens its own provider to team A",
      },
      {
        who: B,
        params: pgName("b-pg"),
        body: { scope: { type: "global" } },
        status: 403,
        why: "team B makes its own provider global",
      },
    ],
    "managed-services-deleteProvider": () => [
      { who: B, params: pgName("shared-pg"), status: 403, why: "team B deletes a global provider" },
      { who: B, params: pgName("a-pg"), status: 404, why: "team B deletes team A's provider" },
      { who: B, params: pgName("ab-pg"), status: 403, why: "team B deletes a provider it shares with A" },
      { who: B, params: bundledPg, status: 403, why: "team B deletes a bundled provider" },
      { who: ADMIN, params: bundledPg, status: 403, why: "even an admin token cannot delete a bundled one" },
    ],
    "managed-services-create": () => [
      {
        who: B,
        body: service(1, "b-in-a", "postgresql", B_SECRETS),
        status: 403,
        why: "team B creates a service in team A",
      },
      {
        who: ADMIN,
        body: service(1, "admin-in-a", "postgresql", B_SECRETS),
        status: 403,
        why: "an admin token acts for no team",
      },
      {
        who: B,
        body: service(2, "b-on-a-pg", "a-pg", B_SECRETS),
        status: 400,
        detail: /^provider\.name: no provider named a-pg is visible to team 2$/,
        why: "team B names team A's provider (it does not exist for team B)",
      },
      {
        who: AB,
        body: service(1, "a-on-b-pg", "b-pg", A_SECRETS),
        status: 400,
        detail: /^provider\.name: no provider named b-pg is visible to team 1$/,
        why: "a token of both teams puts a team-1 service on team 2's provider",
      },
      {
        who: B,
        body: {
          ...service(2, "b-from-a", "postgresql", B_SECRETS),
          recoverFrom: {
            msId: f.services[0],
            time: new Date().toISOString(),
            config: { endpointUrl: "http://127.0.0.1:1", destinationPath: "s3://team-a-backups/" },
            secrets: { accessKey: "b-access", secretKey: "b-secret" },
          },
        },
        status: 400,
        detail: /^recoverFrom\.msId: no service \S+ in team 2 to recover from$/,
        why: "team B restores team A's service (and its data) into a team-B service",
      },
    ],
    "managed-services-list": () => [
      { who: B, query: "team=1", status: 403, why: "team B lists team A's services" },
      { who: ADMIN, query: "team=1", status: 403, why: "an admin token acts for no team" },
    ],
    "managed-services-getDetails": () =>
      aServices().flatMap((params) => [
        { who: B, params, status: 404, why: "team B reads team A's service" },
        { who: ADMIN, params, status: 404, why: "an admin token reads team A's service" },
      ]),
    "managed-services-update": () =>
      aServices().flatMap((params) => [
        { who: B, params, body: { config: { max_connections: "5" } }, status: 404, why: "team B changes it" },
        { who: B, params, body: { secrets: B_SECRETS }, status: 404, why: "team B replaces its secrets" },
        { who: B, params, body: { pause: true }, status: 404, why: "team B pauses it" },
        { who: ADMIN, params, body: { name: "taken-over" }, status: 404, why: "an admin token renames it" },
      ]),
    "managed-services-delete": () =>
      aServices().flatMap((params) => [
        { who: B, params, status: 404, why: "team B deletes team A's service" },
        { who: ADMIN, params, status: 404, why: "an admin token deletes team A's service" },
      ]),
    "managed-services-scheduleBackup": () =>
      aServices().map((params) => ({ who: B, params, status: 404, why: "team B backs up A's service" })),
    "managed-services-listEvents": () =>
      aServices().map((params) => ({ who: B, params, status: 404, why: "team B reads A's events" })),
  };
}
