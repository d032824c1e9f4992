import { describe, expect, it } from "vitest";
import { failureDelay, pollDelay } from "./backoff";

describe("backoff", () => {
  it("polls a working backend from 5 ms, doubling, never above 2 s", () => {
    expect([0, 1, 2, 8, 9, 20].map(pollDelay)).toEqual([5, 10, 20, 1_280, 2_000, 2_000]);
  });

  it("waits between half and all of 1 s doubling per failure, capped at 60 s", () => {
    const low = () => 0;
    const high = () => 0.999_999;
    expect([1, 2, 3, 7, 30].map((n) => failureDelay(n, low))).toEqual([500, 1_000, 2_000, 30_000, 30_000]);
    expect([1, 2, 3, 7, 30].map((n) => failureDelay(n, high))).toEqual([1_000, 2_000, 4_000, 60_000, 60_000]);
  });
});
