/**
 * The test clock (`landform serve --test-clock`, api/test-clock.ts) is a
 * global object: moving it moves every team's schedules, so only an admin
 * token may, and bad input is Problem JSON, never a crash of the process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodesphereClient, waitForState } from "../sdk";
import { postgresRequest } from "./support/fixtures";
import { ServedControlPlane } from "./support/serve";

let cp: ServedControlPlane;

beforeAll(async () => {
  cp = await ServedControlPlane.start({ tokens: ["clock-team-token=1"], testClock: true });
});
afterAll(async () => {
  await cp?.close();
});

function post(body: string, token?: string): Promise<Response> {
  return fetch(`${cp.url}/_landform/clock`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
}

async function problem(
  res: Response,
): Promise<{ status: number; title: string; detail: string; traceId: string }> {
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return (await res.json()) as { status: number; title: string; detail: string; traceId: string };
}

describe("the test clock", () => {
  it("refuses a request without a token (401) and a team token (403), and stays where it was", async () => {
    const before = await cp.advanceClock(0);
    const anonymous = await post(JSON.stringify({ advanceMs: 3_600_000 }));
    expect(anonymous.status).toBe(401);
    expect((await problem(anonymous)).traceId).toMatch(/^[0-9a-f]{32}$/);
    const team = await post(JSON.stringify({ advanceMs: 3_600_000 }), "clock-team-token");
    expect(team.status).toBe(403);
    expect((await problem(team)).detail).toContain("admin token");
    const after = await cp.advanceClock(0);
    expect(after - before).toBeLessThan(60_000);
  });

  it("moves forward by exactly the step an admin token asks for", async () => {
    const before = await cp.advanceClock(0);
    const after = await cp.advanceClock(86_400_000);
    expect(after - before).toBeGreaterThanOrEqual(86_400_000);
    expect(after - before).toBeLessThan(86_400_000 + 60_000);
  });

  it("answers bad bodies with Problem JSON naming the field and rule, and keeps serving", async () => {
    const bad = await post("{not json", cp.clockToken);
    expect(bad.status).toBe(400);
    expect((await problem(bad)).detail).toContain("body");
    for (const advanceMs of [-1, 1.5, "60000", 10 ** 15]) {
      const res = await post(JSON.stringify({ advanceMs }), cp.clockToken);
      expect(res.status).toBe(422);
      expect((await problem(res)).detail).toMatch(/^advanceMs: expected an integer from 0 to \d+$/);
    }
    const health = await fetch(`${cp.url}/health`);
    expect(health.status).toBe(200);
  });

  it("runs the health sweep on its time and counts it in /metrics", async () => {
    const client = new CodesphereClient({ baseUrl: cp.apiUrl, token: "clock-team-token" });
    try {
      const created = await client.managedServices.create(postgresRequest("watched-db"));
      await waitForState(client, created.id, "synchronized", { timeoutMs: 20_000 });
      const counter = async (name: string) => {
        const text = await (await fetch(`${cp.url}/metrics`)).text();
        return Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
      };
      const before = await counter("landform_health_sweeps_total");
      const checkedBefore = await counter("landform_health_checked_total");
      expect(before).toBeGreaterThanOrEqual(0);
      // A sweep is due at most 60 s after the last one (jittered shorter): past that, one runs.
      await cp.advanceClock(61_000);
      await expect.poll(() => counter("landform_health_sweeps_total"), { timeout: 10_000 }).toBe(before + 1);
      expect(await counter("landform_health_checked_total")).toBeGreaterThanOrEqual(checkedBefore + 1);
      expect(await counter("landform_health_woken_total")).toBe(0);
    } finally {
      await client.close();
    }
  });
});
