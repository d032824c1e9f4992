import { describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import {
  applyLandscapeDefaults,
  diff,
  type ServiceInputs,
  type ServiceOutputs,
  stablesOf,
  UNKNOWN,
} from "./implementation";
import { SERIALIZED_FORMAT } from "./provider";
import { PROVIDER_FORMAT } from "./shapes";

const entry = (capabilities: schemas.Provider["capabilities"]) => ({ capabilities }) as schemas.Provider;
const backups = { intervalH: 24, deleteRetentionDays: 7, config: {}, secrets: { k: "v" } };

function member(overrides: Partial<ServiceInputs> = {}): ServiceInputs {
  return {
    teamId: 1,
    name: "m",
    provider: { name: "x", version: "v1" },
    plan: { id: 0 },
    __connection: { apiUrl: "http://api" },
    landscape: { name: "shop", pause: true, backups },
    ...overrides,
  };
}

describe("a landscape's shared settings", () => {
  it("pause and back up members whose provider can", () => {
    const m = member();
    applyLandscapeDefaults(m, entry({ pause: true, backups: true }));
    expect(m.pause).toBe(true);
    expect(m.backups).toEqual(backups);
  });

  it("leave alone members whose provider cannot pause or back up", () => {
    const m = member();
    applyLandscapeDefaults(m, entry({ pause: false, backups: false }));
    expect(m.pause).toBe(false);
    expect(m.backups).toBeUndefined();
  });

  it("never override a member's own choice", () => {
    const m = member({ pause: false, backups: { enabled: false } });
    applyLandscapeDefaults(m, entry({ pause: true, backups: true }));
    expect(m.pause).toBe(false);
    expect(m.backups).toEqual({ enabled: false });
  });
});

describe("diff", () => {
  const recorded = {
    teamId: 1,
    name: "cache",
    provider: { name: "redis", version: "v1" },
    plan: { id: 0, parameters: {} },
    config: { maxmemoryPolicy: "noeviction" },
    pause: false,
    backups: { enabled: false },
    status: "synchronized",
    details: { hostname: "h" },
    backupEntries: [],
    createdAt: "2026-01-01T00:00:00Z",
    secretFingerprints: { secrets: {} },
    fingerprintKey: "k",
    __connection: { apiUrl: UNKNOWN },
  } as unknown as ServiceOutputs;
  // An unknown API URL keeps diff off the network: only the fixed field rules apply.
  const declared = (overrides: Partial<ServiceInputs> = {}): ServiceInputs => ({
    teamId: 1,
    name: "cache",
    provider: { name: "redis", version: "v1" },
    plan: { id: 0, parameters: {} },
    config: { maxmemoryPolicy: "noeviction" },
    secrets: {},
    pause: false,
    __connection: { apiUrl: UNKNOWN },
    ...overrides,
  });

  it("names as stable every output an in-place update keeps, and not the changed ones", async () => {
    const result = await diff("id", recorded, declared({ config: { maxmemoryPolicy: "allkeys-lru" } }));
    expect(result.changes).toBe(true);
    expect(result.replaces).toEqual([]);
    expect(result.stables?.sort()).toEqual(
      [
        "teamId",
        "name",
        "provider",
        "plan",
        "pause",
        "backups",
        "createdAt",
        "secretFingerprints",
        "fingerprintKey",
      ].sort(),
    );
    expect(stablesOf(recorded, ["secrets.password"])).not.toContain("secretFingerprints");
  });

  it("names no stables for a replacement", async () => {
    const result = await diff("id", recorded, declared({ provider: { name: "redis", version: "v2" } }));
    expect(result.replaces).toEqual(["provider"]);
    expect(result.stables).toBeUndefined();
  });

  it("asks for an update of a state written by the old path-bound stub, and only then", async () => {
    const legacy = { ...recorded, __provider: 'with({ IMPLEMENTATION: "/old/implementation.js" })' };
    expect((await diff("id", legacy, declared())).changes).toBe(true);
    const current = { ...recorded, __provider: `with({ FORMAT: "${SERIALIZED_FORMAT}" })` };
    expect((await diff("id", current, declared())).changes).toBe(false);
    // The /2 stub (written before the state was made smaller) finds landform by package too: no update.
    const second = {
      ...recorded,
      __provider: 'var __exports = {SERIALIZED_FORMAT: "landform-pulumi-provider/2"};',
    };
    expect((await diff("id", second, declared())).changes).toBe(false);
  });

  it("recognises the stub's own text: the serialized format equals the one diff looks for", () => {
    expect(SERIALIZED_FORMAT).toBe(PROVIDER_FORMAT);
  });
});
