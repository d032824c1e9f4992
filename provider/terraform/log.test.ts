import { describe, expect, it } from "vitest";
import { thresholdOf } from "./log";

describe("thresholdOf", () => {
  it("follows TF_LOG_PROVIDER before TF_LOG, in any case", () => {
    expect(thresholdOf({ TF_LOG: "TRACE" })).toBe(0);
    expect(thresholdOf({ TF_LOG: "info", TF_LOG_PROVIDER: "Debug" })).toBe(1);
    expect(thresholdOf({ TF_LOG: "JSON" })).toBe(0);
  });

  it("writes only warnings and errors when nothing (or nonsense) is asked for, and nothing under OFF", () => {
    expect(thresholdOf({})).toBe(3);
    expect(thresholdOf({ TF_LOG: "loud" })).toBe(3);
    expect(thresholdOf({ TF_LOG: "off" })).toBe(Number.POSITIVE_INFINITY);
  });
});
