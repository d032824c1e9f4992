/**
 * Fixtures and request building for test/control-plane.hostile.test.ts: the
 * provider it registers, a valid service, and `build`, which turns a recipe
 * (hostile-recipes.ts) into the request it stands for.
 */
import { hostileSchemas, MAX_BODY, PROVIDERS, type Recipe, SERVICES } from "./hostile-recipes";

export { MAX_BODY, PROVIDERS, type Recipe, recipe, SERVICES } from "./hostile-recipes";

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
