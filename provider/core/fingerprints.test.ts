import { describe, expect, it } from "vitest";
import {
  canonicalJson,
  deriveFingerprintKey,
  fingerprint,
  fingerprintValues,
  matchesFingerprint,
  newFingerprintKey,
} from "./fingerprints";

describe("secret fingerprints", () => {
  const key = newFingerprintKey();

  it("are stable for a key, path and value, and never contain the value", () => {
    const a = fingerprint(key, "secrets.password", "hunter22");
    expect(fingerprint(key, "secrets.password", "hunter22")).toBe(a);
    expect(a).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{43}$/);
    expect(a).not.toContain("hunter22");
  });

  it("differ per key, so state from another resource or stack cannot be compared", () => {
    expect(fingerprint(newFingerprintKey(), "secrets.password", "x")).not.toBe(
      fingerprint(key, "secrets.password", "x"),
    );
  });

  it("differ per field, so two fields holding the same secret do not show it", () => {
    expect(fingerprint(key, "secrets.a", "same")).not.toBe(fingerprint(key, "secrets.b", "same"));
  });

  it("do not depend on key order inside object values", () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] })).toBe('{"a":[2,{"c":4,"d":3}],"b":1}');
    expect(fingerprint(key, "s", { b: 1, a: 2 })).toBe(fingerprint(key, "s", { a: 2, b: 1 }));
  });

  it("cover every key of a secrets map and match in constant time", () => {
    const fps = fingerprintValues(key, "backups.secrets", { secretKey: "s3", unset: null });
    expect(Object.keys(fps)).toEqual(["secretKey"]);
    expect(matchesFingerprint(key, "backups.secrets.secretKey", "s3", fps.secretKey!)).toBe(true);
    expect(matchesFingerprint(key, "backups.secrets.secretKey", "s4", fps.secretKey!)).toBe(false);
  });

  it("derive the same key from the same material, a different one from other material", () => {
    expect(deriveFingerprintKey("token-a", "team 1")).toBe(deriveFingerprintKey("token-a", "team 1"));
    expect(deriveFingerprintKey("token-a", "team 1")).not.toBe(deriveFingerprintKey("token-b", "team 1"));
  });

  it("refuse a short key", () => {
    expect(() => fingerprint("c2hvcnQ", "s", "v")).toThrow(/32 bytes/);
  });
});
