/**
 * The recipes of the hostile suite's requests: small values fast-check
 * generates, prints when a run fails and replays from the seed. `build` in
 * hostile.ts turns one into its request, which may be megabytes.
 */
import fc from "fast-check";

export const SERVICES = "/api/managed-services";
export const PROVIDERS = "/api/managed-services/providers";
export const MAX_BODY = 1024 * 1024;

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

/** Provider schemas the control plane must refuse at registration (422), never store. */
export const hostileSchemas = [
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
