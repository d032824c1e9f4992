import os from "node:os";
import { describe, expect, it } from "vitest";
import { checkReplicaId, defaultReplicaId, LocalLeases, renderLeaseMetrics } from "./leases";

describe("replica ids", () => {
  it("default to hostname-pid-random, different on every call and valid as --replica-id", () => {
    const a = defaultReplicaId();
    const b = defaultReplicaId();
    expect(a).not.toBe(b);
    expect(a.startsWith(`${os.hostname().replace(/[^A-Za-z0-9.-]/g, "-")}-${process.pid}-`)).toBe(true);
    expect(checkReplicaId(a)).toBeUndefined();
  });

  it("refuse empty, overlong and unprintable ids, saying the rule", () => {
    expect(checkReplicaId("")).toMatch(/1 to 128/);
    expect(checkReplicaId("x".repeat(129))).toMatch(/1 to 128/);
    expect(checkReplicaId('a"b')).toMatch(/only letters/);
    expect(checkReplicaId("pod name")).toMatch(/only letters/);
    expect(checkReplicaId("landform-7d9f-abcde")).toBeUndefined();
  });
});

describe("local leases (one process owns the data dir)", () => {
  it("grant everything, claim nothing from elsewhere and hand notifications straight back", async () => {
    const leases = new LocalLeases("solo");
    const woken: string[] = [];
    await leases.start({
      claimed: () => {},
      wake: (id) => woken.push(id),
      lost: () => {},
      capacity: () => 1,
    });
    expect(leases.shared).toBe(false);
    expect(await leases.claimDue(10)).toEqual([]);
    expect([...(await leases.renew(["a", "b"]))]).toEqual(["a", "b"]);
    expect(await leases.singleton("retention-sweeper")).toBe(true);
    expect(leases.holds("anything")).toBe(true);
    await leases.notify("svc-1");
    expect(woken).toEqual(["svc-1"]);
    await leases.stop();
    await leases.notify("svc-2");
    expect(woken).toEqual(["svc-1"]);
  });
});

describe("lease metrics", () => {
  it("are Prometheus text with the replica as a label (quotes made harmless)", () => {
    const lines = renderLeaseMetrics('r"1', { services: 3, singletons: 1, takenOver: 7 });
    expect(lines).toContain("# TYPE landform_leases_held gauge");
    expect(lines).toContain("# TYPE landform_leases_taken_over_total counter");
    expect(lines).toContain('landform_leases_held{replica="r_1",kind="service"} 3');
    expect(lines).toContain('landform_leases_held{replica="r_1",kind="singleton"} 1');
    expect(lines).toContain('landform_leases_taken_over_total{replica="r_1"} 7');
  });
});
