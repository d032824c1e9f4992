/**
 * Adversarial requests for test/control-plane.hostile.test.ts. fast-check
 * generates small recipes (printable when a run fails, replayable from the
 * seed); `build` turns a recipe into the request, which may be megabytes.
 */
import fc from "fast-check";

export const SERVICES = "/api/managed-services";
export const PROVIDERS = "/api/managed-services/providers";
export const MAX_BODY = 1024 * 1024;

/** The team-1 provider the suite registers: a catastrophic pattern, `$id`, patternProperties. */
export function hostileProvider(endpoint: string, key: string): Record<string, unknown> {
  return {
    name: "hostile",
    version: "v1",
    author: "hostile suite",
    category: "database",
    description: "a provider whose schemas invite trouble",
    displayName: "Hostile",
    iconUrl: "",
    configSchema: {
      $id: "https://example.com/hostile/config.json",
      type: "object",
      properties: {
        name: { type: "string", pattern: "^(a+)+$" },
        size: { $ref: "#/$defs/size" },
        tags: { type: "object", patternProperties: { "^(x+x+)+y$": { type: "string" } } },
      },
      $defs: { size: { type: "integer", minimum: 1 } },
      additionalProperties: false,
    },
    secretsSchema: {
      type: "object",
      properties: { password: { type: "string", minLength: 4 } },
      required: ["password"],
      additionalProperties: false,
    },
    detailsSchema: { type: "object" },
    plans: [
      {
        id: 1,
        name: "small",
        description: "small",
        parameters: { storage: { schema: { type: "integer", minimum: 1, default: 1 } } },
      },
    ],
    scope: { type: "team", teamIds: [1] },
    backend: { api: { endpoint, secret: key } },
  };
}

export const secretOf = (n: number) => `pw-${n}-Zq9-lantern`;

export function validService(n: number, name = "aaa", size = 3): Record<string, unknown> {
  return {
    teamId: 1,
    name: `svc-${n}`,
    provider: { name: "hostile", version: "v1" },
    plan: { id: 1, parameters: { storage: 2 } },
    config: { name, size, tags: { xxy: "tag" } },
    secrets: { password: secretOf(n) },
  };
}

// ---------------------------------------------------------------- recipes

/** Strings with unicode, control characters, huge and empty ones. */
const nasty = fc.oneof(
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.constantFrom("", " ", "\u0000", "a\u202eb", "名前", "😀", "\r\n", "../..", "%00", "'; DROP TABLE x; --"),
  fc.integer({ min: 200, max: 20_000 }).map((n) => "n".repeat(n)),
);
const json = fc.jsonValue({ maxDepth: 4 });
const createPaths = [
  "teamId",
  "name",
  "provider",
  "provider.name",
  "provider.version",
  "plan",
  "plan.id",
  "plan.parameters",
  "plan.parameters.storage",
  "config",
  "config.name",
  "config.size",
  "config.tags",
  "secrets",
  "secrets.password",
  "backups",
  "recoverFrom",
  "unknownField",
] as const;

const hostileSchemas = [
  { $schema: "http://json-schema.org/draft-07/schema#", type: "object" },
  { $ref: "https://evil.example/schema.json" },
  { type: "object", properties: { a: { type: "string", pattern: "^(a)\\1$" } } },
  { type: "object", properties: { a: { type: "string", pattern: "(?=a)a" } } },
  { type: "object", patternProperties: { "(?<!x)y": {} } },
  { type: "string", pattern: "[\\s\\S]{1000}[\\s\\S]{1000}" },
  { type: "string", pattern: "a".repeat(5_000) },
  { type: "nope" },
  { properties: 7 },
  { $ref: "#/$defs/missing" },
] as const;

export type Recipe =
  | { kind: "validCreate"; n: number; name: string; size: number }
  | { kind: "mutatedCreate"; n: number; path: (typeof createPaths)[number]; value: unknown; drop: boolean }
  | { kind: "nastyName"; n: number; name: string }
  | { kind: "catastrophic"; n: number; length: number; where: "name" | "tagKey" }
  | { kind: "deep"; depth: number; open: "[" | "{"; route: "create" | "patch" | "provider" }
  | { kind: "huge"; extra: number }
  | { kind: "malformed"; text: string; route: "create" | "patch" | "provider" }
  | { kind: "badId"; id: string; method: "GET" | "PATCH" | "DELETE" | "POST" }
  | { kind: "providerSchema"; n: number; which: number; field: string }
  | { kind: "providerDeepSchema"; n: number; depth: number }
  | { kind: "providerBigSchema"; n: number; fields: number }
  | { kind: "providerWithId"; n: number }
  | { kind: "providerPatch"; which: number }
  | { kind: "providerAnything"; n: number; schema: unknown }
  | { kind: "query"; query: string }
  | { kind: "auth"; header: string | null; target: number }
  | { kind: "method"; method: string; path: string }
  | { kind: "validPatch"; target: number; n: number; size: number }
  | { kind: "mutatedPatch"; target: number; value: unknown; key: string };

const route = fc.constantFrom("create" as const, "patch" as const, "provider" as const);
const n = fc.nat({ max: 2_000_000_000 });
const target = fc.nat({ max: 1_000 });

export const recipe: fc.Arbitrary<Recipe> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("validCreate" as const),
      n,
      name: fc.constantFrom("a", "aa", "aaaa"),
      size: fc.integer({ min: 1, max: 99 }),
    }),
  },
  {
    weight: 20,
    arbitrary: fc.record({
      kind: fc.constant("mutatedCreate" as const),
      n,
      path: fc.constantFrom(...createPaths),
      value: json,
      drop: fc.boolean(),
    }),
  },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("nastyName" as const), n, name: nasty }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("catastrophic" as const),
      n,
      length: fc.integer({ min: 20, max: 60_000 }),
      where: fc.constantFrom("name" as const, "tagKey" as const),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("deep" as const),
      depth: fc.integer({ min: 65, max: 400_000 }),
      open: fc.constantFrom("[" as const, "{" as const),
      route,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("huge" as const),
      extra: fc.integer({ min: 1, max: 512 * 1024 }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("malformed" as const),
      text: fc.oneof(
        fc.string({ unit: "binary", maxLength: 200 }),
        json.map((v) => JSON.stringify(v)?.slice(0, -1) ?? ""),
      ),
      route,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("badId" as const),
      id: fc.oneof(
        nasty,
        fc.uuid().map((u) => u.toUpperCase()),
        fc.uuid(),
        fc.constantFrom("%", "%zz", "%E0%A4%A", ".."),
      ),
      method: fc.constantFrom("GET" as const, "PATCH" as const, "DELETE" as const, "POST" as const),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("providerSchema" as const),
      n,
      which: fc.nat({ max: hostileSchemas.length - 1 }),
      field: fc.constantFrom("configSchema", "secretsSchema", "detailsSchema", "plan"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("providerDeepSchema" as const),
      n,
      depth: fc.integer({ min: 33, max: 60 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("providerBigSchema" as const),
      n,
      fields: fc.integer({ min: 3_000, max: 20_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("providerWithId" as const), n }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("providerPatch" as const),
      which: fc.nat({ max: hostileSchemas.length - 1 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("providerAnything" as const), n, schema: json }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("query" as const),
      query: fc.oneof(
        fc.string({ unit: "binary", maxLength: 100 }).map(encodeURI),
        fc.constantFrom(
          "team=1&team=1",
          "team=-1",
          "team=1e3",
          "team=%",
          "team=99999999999999999999",
          "team=1&includeDeleted=maybe",
          "x=1",
        ),
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("auth" as const),
      header: fc.oneof(
        fc.constant(null),
        fc.constantFrom("Bearer", "Bearer ", "Basic abc", "bearer hostile-other-token"),
        fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`),
      ),
      target,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("method" as const),
      method: fc.constantFrom("PUT", "OPTIONS", "TRACE", "PROPFIND", "HEAD", "PATCH"),
      path: fc.constantFrom(SERVICES, PROVIDERS, "/health", "/metrics", "/", "/api", `${PROVIDERS}/hostile`),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("validPatch" as const),
      target,
      n,
      size: fc.integer({ min: 1, max: 99 }),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("mutatedPatch" as const),
      target,
      value: json,
      key: fc.constantFrom("name", "config", "secrets", "plan", "pause", "backups", "version", "provider"),
    }),
  },
);

// ---------------------------------------------------------------- building requests

export interface Built {
  method: string;
  path: string;
  body?: string;
  /** undefined: the suite's team token; null: no Authorization header; else the header value. */
  authorization?: string | null;
  /** Sent over a raw socket: the server answers before it has read the body, and fetch may not wait for that. */
  raw?: boolean;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown, drop: boolean): void {
  const keys = path.split(".");
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1] as string;
  if (drop) delete node[last];
  else node[last] = value;
}

function providerBody(n: number, patch: Record<string, unknown>, endpoint: string): Record<string, unknown> {
  const base = hostileProvider(endpoint, "other-backend-key");
  return { ...base, name: `p-${n}`, ...patch };
}

/**
 * The request of a recipe; `known` are ids of services the suite's team
 * holds (may be empty), `run` the run's number: names made from it are
 * unique, so a valid create never meets a duplicate.
 */
export function build(r: Recipe, known: readonly string[], endpoint: string, run: number): Built {
  const u = run * 10_000 + ("n" in r ? r.n % 10_000 : 0);
  const pick = (i: number) => known[i % Math.max(known.length, 1)] ?? "00000000-0000-4000-8000-000000000000";
  const routePath = (which: "create" | "patch" | "provider", i = 0) =>
    which === "create"
      ? { method: "POST", path: SERVICES }
      : which === "patch"
        ? { method: "PATCH", path: `${SERVICES}/${pick(i)}` }
        : { method: "POST", path: PROVIDERS };
  switch (r.kind) {
    case "validCreate":
      return { method: "POST", path: SERVICES, body: JSON.stringify(validService(u, r.name, r.size)) };
    case "mutatedCreate": {
      const body = validService(u);
      setPath(body, r.path, r.value, r.drop);
      return { method: "POST", path: SERVICES, body: JSON.stringify(body) };
    }
    case "nastyName":
      return { method: "POST", path: SERVICES, body: JSON.stringify({ ...validService(u), name: r.name }) };
    case "catastrophic": {
      const body = validService(u);
      const long = r.where === "name" ? `${"a".repeat(r.length)}!` : `${"x".repeat(r.length)}!`;
      body.config = r.where === "name" ? { name: long } : { tags: { [long]: 1 } };
      return { method: "POST", path: SERVICES, body: JSON.stringify(body) };
    }
    case "deep": {
      const close = r.open === "[" ? "]" : "}";
      const open = r.open === "[" ? "[" : '{"a":';
      return { ...routePath(r.route), body: `${open.repeat(r.depth)}1${close.repeat(r.depth)}` };
    }
    case "huge":
      return {
        method: "POST",
        path: SERVICES,
        body: JSON.stringify({ config: { blob: "z".repeat(MAX_BODY + r.extra) } }),
        raw: true,
      };
    case "malformed":
      return { ...routePath(r.route), body: r.text };
    case "badId": {
      const path = `${SERVICES}/${r.id.replace(/[?#]/g, "")}${r.method === "POST" ? "/backups" : ""}`;
      return { method: r.method, path, ...(r.method === "PATCH" ? { body: "{}" } : {}) };
    }
    case "providerSchema": {
      const schema = hostileSchemas[r.which];
      const patch =
        r.field === "plan"
          ? { plans: [{ id: 1, name: "p", description: "p", parameters: { storage: { schema } } }] }
          : { [r.field]: schema };
      return { method: "POST", path: PROVIDERS, body: JSON.stringify(providerBody(u, patch, endpoint)) };
    }
    case "providerDeepSchema": {
      let schema: Record<string, unknown> = { type: "string" };
      for (let i = 0; i < r.depth; i++) schema = { type: "object", properties: { a: schema } };
      return {
        method: "POST",
        path: PROVIDERS,
        body: JSON.stringify(providerBody(u, { configSchema: schema }, endpoint)),
      };
    }
    case "providerBigSchema": {
      const properties: Record<string, unknown> = {};
      for (let i = 0; i < r.fields; i++) properties[`f${i}`] = { type: "string", maxLength: i };
      return {
        method: "POST",
        path: PROVIDERS,
        body: JSON.stringify(providerBody(u, { configSchema: { type: "object", properties } }, endpoint)),
      };
    }
    case "providerWithId": {
      // Valid: the same $id as the suite's provider, in another provider; it must not collide.
      const configSchema = hostileProvider(endpoint, "k").configSchema as Record<string, unknown>;
      return {
        method: "POST",
        path: PROVIDERS,
        body: JSON.stringify(providerBody(u, { configSchema }, endpoint)),
      };
    }
    case "providerPatch":
      return {
        method: "PATCH",
        path: `${PROVIDERS}/hostile/v1`,
        body: JSON.stringify({ configSchema: hostileSchemas[r.which] }),
      };
    case "providerAnything":
      return {
        method: "POST",
        path: PROVIDERS,
        body: JSON.stringify(providerBody(u, { configSchema: r.schema }, endpoint)),
      };
    case "query":
      return { method: "GET", path: `${SERVICES}?${r.query}` };
    case "auth":
      return { method: "GET", path: `${SERVICES}/${pick(r.target)}`, authorization: r.header };
    case "method":
      // fetch refuses TRACE and friends: these go over a raw socket.
      return { method: r.method, path: r.path, raw: true };
    case "validPatch":
      return {
        method: "PATCH",
        path: `${SERVICES}/${pick(r.target)}`,
        body: JSON.stringify({ name: `renamed-${u}`, config: { name: "aa", size: r.size } }),
      };
    case "mutatedPatch":
      return {
        method: "PATCH",
        path: `${SERVICES}/${pick(r.target)}`,
        body: JSON.stringify({ [r.key]: r.value }),
      };
  }
}
