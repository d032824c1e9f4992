import { describe, expect, it } from "vitest";
import { nestsDeeperThan } from "./body";

const bytes = (s: string) => Buffer.from(s, "utf8");

describe("nestsDeeperThan", () => {
  it("counts objects and arrays, and stops at the limit", () => {
    expect(nestsDeeperThan(bytes('{"a":[{"b":[1]}]}'), 4)).toBe(false);
    expect(nestsDeeperThan(bytes('{"a":[{"b":[1]}]}'), 3)).toBe(true);
    expect(nestsDeeperThan(bytes("[".repeat(1_000_000)), 64)).toBe(true);
    expect(nestsDeeperThan(bytes(`${"[".repeat(64)}${"]".repeat(64)}`), 64)).toBe(false);
  });

  it("ignores brackets inside strings, escaped quotes included", () => {
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: "[[[[{{{{", b: 'x\\"[[[[' })), 1)).toBe(false);
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: "é😀[[[" })), 1)).toBe(false);
    expect(nestsDeeperThan(bytes(JSON.stringify({ a: '"', b: [[1]] })), 2)).toBe(true);
  });
});
