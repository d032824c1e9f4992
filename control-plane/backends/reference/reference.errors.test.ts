/**
 * What the reference backends refuse (the contract's 400, 404, 405, 409 and
 * 422) and the failures they inject on demand (/admin/faults).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  advance,
  backends,
  call,
  createPostgres,
  expectNoSecretSeen,
  observe,
  PG,
  postgresBody,
  start,
  useReferenceBackends,
} from "./test-backends";

useReferenceBackends();

describe("the reference backends' refusals and injected faults", () => {
  it("answer 404 for an unknown provider or path", async () => {
    await start();
    expect(await call("GET", "/api/v1/mysql")).toEqual({
      status: 404,
      body: { error: "unknown provider mysql" },
    });
    expect((await call("GET", "/api/v2/postgres")).status).toBe(404);
  });

  it("reject bad requests with the contract's status codes", async () => {
    await start();
    const id = await createPostgres();
    expect(await call("POST", PG, postgresBody(id))).toEqual({
      status: 409,
      body: { error: `service ${id} already exists` },
    });
    const { id: _, ...noId } = postgresBody(randomUUID());
    expect(await call("POST", PG, noId)).toEqual({ status: 400, body: { error: "id is required" } });
    for (const teamId of [undefined, 0, -1, 1.5, "7"]) {
      expect((await call("POST", PG, postgresBody(randomUUID(), { teamId }))).status, String(teamId)).toBe(
        400,
      );
    }
    expect(await call("POST", PG, "{not json")).toEqual({
      status: 400,
      body: { error: "body is not valid JSON" },
    });
    expect((await call("POST", PG, [])).status).toBe(400);
    expect((await call("POST", PG, postgresBody(randomUUID(), { config: "x" }))).status).toBe(400);

    const other = randomUUID();
    expect(await call("PATCH", `${PG}/${id}`, { id: other, teamId: 7 })).toEqual({
      status: 400,
      body: { error: "id in the body must equal the id in the path" },
    });
    expect((await call("PATCH", `${PG}/${id}`, { id })).status).toBe(400);
    expect((await call("PATCH", `${PG}/${other}`, { id: other, teamId: 7 })).status).toBe(404);
    expect((await call("DELETE", `${PG}/${other}`)).status).toBe(404);
    expect((await call("PATCH", `${PG}/${id}`, { id, teamId: 7, pause: "yes" })).status).toBe(400);
    expect((await call("PUT", PG)).status).toBe(405);
  });

  it("reject with 422 what breaks the catalog's schemas or update constraints", async () => {
    await start();
    const bad = await call(
      "POST",
      PG,
      postgresBody(randomUUID(), {
        config: { version: "9.6", extra: 1 },
        secrets: { userPassword: 12345 },
      }),
    );
    expect(bad.status).toBe(422);
    expect(bad.body.error).toContain("config.version: must be one of 17.9");
    expect(bad.body.error).toContain("config.extra: is not a known field");
    expect(bad.body.error).toContain("secrets.userPassword: must be string");
    expect(
      (await call("POST", PG, postgresBody(randomUUID(), { plan: { parameters: { storage: 100 } } }))).status,
    ).toBe(422);
    expect(
      (await call("POST", PG, postgresBody(randomUUID(), { plan: { id: 0, parameters: { cpu: 40 } } }))).body,
    ).toEqual({ error: "plan.parameters.cpu: must be 5" });

    const id = await createPostgres({ config: { version: "16.10" } });
    advance();
    const patch = (body: Record<string, unknown>) => call("PATCH", `${PG}/${id}`, { id, teamId: 7, ...body });
    expect((await patch({ config: { userName: "other" } })).body).toEqual({
      error: "config.userName: cannot change after create (immutable)",
    });
    expect((await patch({ secrets: { userPassword: "new-pw-Pp19r" } })).body).toEqual({
      error: "secrets.userPassword: cannot change after create (immutable)",
    });
    expect((await patch({ plan: { parameters: { storage: 512 } } })).body).toEqual({
      error: "plan.parameters.storage: may only increase (increase-only)",
    });
    expect((await patch({ config: { version: "17.6" } })).status).toBe(422);
    expect((await patch({ config: { version: "16.13" } })).status).toBe(204);
    expect((await patch({ secrets: { superuserPassword: "new-pw-Pp19r" } })).status).toBe(204);
    expect((await observe(id)).details.phase).toBe("updating");
  });

  it("inject the next failures of contract calls on demand", async () => {
    await start();
    expect(
      (await call("POST", "/admin/faults", { failNext: 2, status: 503, provider: "postgres" })).body,
    ).toEqual({
      failNext: 2,
      failRate: 0,
      latencyMs: 0,
      status: 503,
      provider: "postgres",
    });
    expect((await call("GET", "/api/v1/redis")).status).toBe(200);
    expect((await call("GET", `${PG}/${randomUUID()}/data`)).status).toBe(404);
    expect(await call("GET", PG)).toEqual({ status: 503, body: { error: "injected fault" } });
    expect((await call("GET", "/admin/faults")).body.failNext).toBe(1);
    expect((await call("POST", PG, postgresBody(randomUUID()))).status).toBe(503);
    expect((await call("GET", PG)).body).toEqual([]);
    expect((await fetch(`${backends.url}/health`)).status).toBe(200);

    expect((await call("POST", "/admin/faults", { failRate: 1.5 })).body).toEqual({
      error: "failRate: must be a number from 0 to 1",
    });
    expect((await call("POST", "/admin/faults", { provider: "mysql" })).status).toBe(400);
  });

  it("fail a share of contract calls at the given rate, reproducibly", async () => {
    const draws = [0.1, 0.9, 0.4, 0.6];
    let i = 0;
    await start({ random: () => draws[i++ % draws.length]! });
    await call("POST", "/admin/faults", { failRate: 0.5, latencyMs: 5 });
    const statuses = [];
    for (let n = 0; n < 4; n++) statuses.push((await call("GET", PG)).status);
    expect(statuses).toEqual([502, 200, 502, 200]);

    await call("POST", "/admin/faults", { failRate: 1 });
    expect((await call("GET", PG)).status).toBe(502);
    expect((await call("DELETE", "/admin/faults")).status).toBe(204);
    expect((await call("GET", "/admin/faults")).body).toEqual({
      failNext: 0,
      failRate: 0,
      latencyMs: 0,
      status: 502,
    });
    expect((await call("GET", PG)).status).toBe(200);
  });

  it("never put a secret in an answer or a log line", () => {
    expectNoSecretSeen(50);
  });
});
