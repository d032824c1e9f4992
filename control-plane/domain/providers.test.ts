/**
 * The catalog's authorization rules (docs/authorization.md) on a real store
 * and vault in a temp dir: who may create, change and delete global, team and
 * bundled providers, and which providers a team's services may use.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { bundledCatalog } from "../backends/catalog";
import { Store } from "../store/store";
import { Vault } from "../store/vault";
import { Catalog } from "./providers";
import { type Caller, DomainError } from "./types";

const caller = (teams: number[], admin = false): Caller => ({ teams: new Set(teams), admin, traceId: "t" });
const T1 = caller([1]);
const T2 = caller([2]);
const T12 = caller([1, 2]);
const ADMIN = caller([], true);
const ADMIN1 = caller([1], true);
const CALLERS = { T1, T2, T12, ADMIN, ADMIN1 };
type Who = keyof typeof CALLERS;

let dir: string;
let store: Store;
let catalog: Catalog;
let definition: Record<string, unknown>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "landform-catalog-"));
  store = await Store.sqlite(dir);
  catalog = new Catalog(store, Vault.open(dir), Date.now);
  const bundled = bundledCatalog("http://127.0.0.1:1", "bundled-key");
  for (const entry of bundled) await catalog.installBundled(entry);
  const {
    backend: _b,
    scope: _s,
    version: _v,
    schemaVersion: _sv,
    ...rest
  } = bundled.find((p) => p.name === "postgres")!;
  definition = rest;
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function body(name: string, scope?: schemas.ProviderScope): schemas.CreateProviderRequest {
  return {
    ...definition,
    name,
    version: "v1",
    ...(scope ? { scope } : {}),
    backend: { api: { endpoint: "http://127.0.0.1:2/api/v1/postgres", secret: "provider-key" } },
  } as schemas.CreateProviderRequest;
}

const team = (...teamIds: number[]): schemas.ProviderScope => ({ type: "team", teamIds });
const GLOBAL: schemas.ProviderScope = { type: "global" };

/** The status a call is refused with, or 200. */
async function statusOf(call: () => unknown): Promise<number> {
  try {
    await call();
    return 200;
  } catch (error) {
    if (error instanceof DomainError) return error.status;
    throw error;
  }
}

describe("registering a provider", () => {
  it.each([
    ["a team token, scope omitted (global)", "T1", undefined, 403],
    ["a team token, global", "T1", GLOBAL, 403],
    ["an admin token, global", "ADMIN", GLOBAL, 200],
    ["an admin token, scope omitted (global)", "ADMIN", undefined, 200],
    ["a team token, its own team", "T1", team(1), 200],
    ["a team token, its team and another", "T1", team(1, 2), 403],
    ["a token of both teams, both", "T12", team(1, 2), 200],
    ["an admin token of no team, a team", "ADMIN", team(1), 403],
    ["an admin token of team 1, team 1", "ADMIN1", team(1), 200],
    ["any token, no team at all", "T1", team(), 400],
  ] as const)("%s (%s, scope %j): %i", async (_what, who: Who, scope, status) => {
    expect(await statusOf(() => catalog.create(CALLERS[who], body("p", scope)))).toBe(status);
  });
});

describe("changing, replacing and deleting a provider", () => {
  // current scope, who, the PATCH (scope or not), the answer
  it.each([
    ["team 1's", team(1), "T1", { displayName: "x" }, 200],
    ["team 1's", team(1), "T2", { displayName: "x" }, 404],
    ["team 1's", team(1), "T1", { scope: team(1, 2) }, 403],
    ["team 1's", team(1), "T12", { scope: team(1, 2) }, 200],
    ["team 1's", team(1), "T1", { scope: GLOBAL }, 403],
    ["team 1's", team(1), "ADMIN1", { scope: GLOBAL }, 200],
    ["shared by 1 and 2", team(1, 2), "T1", { displayName: "x" }, 403],
    ["shared by 1 and 2", team(1, 2), "T2", { scope: team(2) }, 403],
    ["shared by 1 and 2", team(1, 2), "T12", { scope: team(2) }, 200],
    ["global", GLOBAL, "T1", { displayName: "x" }, 403],
    ["global", GLOBAL, "T1", { scope: team(1) }, 403],
    ["global", GLOBAL, "ADMIN", { displayName: "x" }, 200],
    ["global", GLOBAL, "ADMIN", { scope: team(1) }, 403],
    ["global", GLOBAL, "ADMIN1", { scope: team(1) }, 200],
  ] as const)("%s provider (%j), by %s with %j: %i", async (_what, scope, who: Who, patch, status) => {
    await catalog.create(scope.type === "global" ? ADMIN : T12, body("p", scope));
    const update = patch as schemas.UpdateProviderRequest;
    expect(await statusOf(() => catalog.update(CALLERS[who], "p", "v1", update))).toBe(status);
  });

  it.each([
    ["team 1's", team(1), "T1", 200],
    ["team 1's", team(1), "T2", 404],
    ["shared by 1 and 2", team(1, 2), "T2", 403],
    ["shared by 1 and 2", team(1, 2), "T12", 200],
    ["global", GLOBAL, "T12", 403],
    ["global", GLOBAL, "ADMIN", 200],
  ] as const)("deleting %s provider (%j), by %s: %i", async (_what, scope, who: Who, status) => {
    await catalog.create(scope.type === "global" ? ADMIN : T12, body("p", scope));
    expect(await statusOf(() => catalog.delete(CALLERS[who], "p", "v1"))).toBe(status);
    expect((await catalog.get("p", "v1")) === undefined).toBe(status === 200);
  });

  it("replaces (PUT) under the same rules as PATCH for the current scope and as POST for the new one", async () => {
    await catalog.create(ADMIN, body("g", GLOBAL));
    await catalog.create(T1, body("a", team(1)));
    expect(await statusOf(() => catalog.upsert(T2, body("g", team(2))))).toBe(403);
    expect(await statusOf(() => catalog.upsert(T2, body("a", team(2))))).toBe(404);
    expect(await statusOf(() => catalog.upsert(T1, body("a", team(1, 2))))).toBe(403);
    expect(await statusOf(() => catalog.upsert(ADMIN, body("g", GLOBAL)))).toBe(200);
    expect(await statusOf(() => catalog.upsert(T2, body("new-b", team(2))))).toBe(200);
  });

  it("never lets anyone change or delete a bundled provider", async () => {
    for (const who of [ADMIN, ADMIN1, T12]) {
      expect(await statusOf(() => catalog.update(who, "postgres", "v1", { displayName: "x" }))).toBe(403);
      expect(await statusOf(() => catalog.delete(who, "postgres", "v1"))).toBe(403);
      expect(await statusOf(() => catalog.upsert(who, body("postgres")))).toBe(403);
    }
  });

  it("refuses a name another team has taken with 409, and changes nothing of it", async () => {
    await catalog.create(T1, body("a", team(1)));
    expect(await statusOf(() => catalog.create(T2, body("a", team(2))))).toBe(409);
    expect((await catalog.list(T2)).map((p) => p.name)).not.toContain("a");
    expect((await catalog.list(T1)).find((p) => p.name === "a")?.backend).toEqual({
      api: { endpoint: "http://127.0.0.1:2/api/v1/postgres" },
    });
  });
});

describe("the providers a team's services may use", () => {
  it("are global ones and those scoped to that team, and follow scope changes", async () => {
    await catalog.create(T12, body("shared", team(1, 2)));
    expect(await catalog.forTeam(1, "shared", "v1")).toBeDefined();
    expect(await catalog.forTeam(3, "shared", "v1")).toBeUndefined();
    await catalog.update(T12, "shared", "v1", { scope: team(2) });
    expect(await catalog.forTeam(1, "shared", "v1")).toBeUndefined();
    expect(await catalog.forTeam(2, "shared", "v1")).toBeDefined();
    expect(await catalog.forTeam(99, "postgres", "v1")).toBeDefined();
  });

  it("are what an admin token of no team lists: the global ones only", async () => {
    await catalog.create(T1, body("a", team(1)));
    await catalog.create(ADMIN, body("g"));
    const names = (await catalog.list(ADMIN)).map((p) => p.name);
    expect(names).toContain("g");
    expect(names).toContain("postgres");
    expect(names).not.toContain("a");
  });
});
