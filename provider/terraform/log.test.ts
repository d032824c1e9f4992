import { describe, expect, it } from "vitest";
import { createLog, thresholdOf } from "./log";

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

describe("createLog", () => {
  it("writes hclog JSON lines at or above the threshold to its own sink only", () => {
    const lines: string[] = [];
    const l = createLog({ TF_LOG_PROVIDER: "debug" }, (line) => lines.push(line));
    l.log("trace", "hidden");
    l.log("debug", "shown", { rpc: "ReadResource" });
    expect(l.logs("trace")).toBe(false);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      "@level": "debug",
      "@message": "shown",
      "@module": "landform",
      rpc: "ReadResource",
    });
    expect(String(line["@timestamp"])).toMatch(/\.\d{6}Z$/);
  });
});
