import { describe, expect, it } from "vitest";
import { isReady, provision, reported, request, type Spec, settle } from "./operations";

const spec: Spec = { planId: 0, parameters: { storage: 1024 }, config: { v: "1" }, pause: false };

describe("a reference service's lifecycle", () => {
  it("provisions until the due time, then runs what was requested", () => {
    const s = provision(spec, 100, 20);
    expect(settle(s, 119)).toMatchObject({ phase: "provisioning", observed: null });
    expect(isReady(settle(s, 119))).toBe(false);
    expect(reported(s)).toBe(spec);
    const done = settle(s, 120);
    expect(done).toMatchObject({ phase: "running", observed: spec });
    expect(isReady(done)).toBe(true);
  });

  it("stays provisioning when changed before the first provisioning ends", () => {
    const s = request(provision(spec, 100, 20), { ...spec, config: { v: "2" } }, false, 110, 20);
    expect(s).toMatchObject({ phase: "provisioning", dueAt: 130, observed: null });
  });

  it("names the operation after what changes", () => {
    const running = settle(provision(spec, 0, 10), 10);
    expect(request(running, { ...spec, pause: true }, false, 20, 10).phase).toBe("pausing");
    expect(request(running, { ...spec, config: { v: "2" } }, false, 20, 10).phase).toBe("updating");
    expect(request(running, spec, true, 20, 10).phase).toBe("updating");
    const paused = settle(request(running, { ...spec, pause: true }, false, 20, 10), 30);
    expect(paused.phase).toBe("paused");
    expect(request(paused, spec, false, 40, 10).phase).toBe("resuming");
    expect(
      settle(request(paused, { ...spec, pause: true, config: { v: "3" } }, false, 40, 10), 50).phase,
    ).toBe("paused");
  });

  it("treats a repeated request as no new operation", () => {
    const running = settle(provision(spec, 0, 10), 10);
    expect(request(running, structuredClone(spec), false, 20, 10)).toEqual(running);
  });

  it("reports the observed spec while an update is in flight", () => {
    const running = settle(provision(spec, 0, 10), 10);
    const updating = request(running, { ...spec, parameters: { storage: 2048 } }, false, 20, 10);
    expect(reported(updating).parameters.storage).toBe(1024);
    expect(reported(settle(updating, 30)).parameters.storage).toBe(2048);
  });
});
