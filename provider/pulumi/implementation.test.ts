import { describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { applyLandscapeDefaults, type ServiceInputs } from "./implementation";

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
