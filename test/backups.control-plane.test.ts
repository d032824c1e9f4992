/**
 * Backups end to end: `landform serve` schedules, takes, expires and finally
 * backs up services into a real S3-compatible store (versitygw, started here),
 * and recovers new services from a backup or to a point in time. Time is
 * advanced on the control plane's clock, never waited for.
 */
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CodesphereClient, type ManagedService, waitForDeleted, waitForState } from "../sdk";
import { clientFor, DAY_MS, postgresRequest, S3_ACCESS_KEY, S3_SECRET, SECRETS } from "./support/fixtures";
import { contractViolation, type Exchange } from "./support/openapi";
import { type S3Server, startS3Server } from "./support/s3";
import { ServedControlPlane } from "./support/serve";

// Backups here carry the simulated data set (data endpoint): the services are simulated.
// Real servers are covered by test/engines.*.test.ts (landform serve reads this from its environment).
process.env.LANDFORM_ENGINES = "simulated";

const HOUR_MS = 3_600_000;
const BUCKET = "landform-backups";
let s3: S3Server;
let cp: ServedControlPlane;
let client: CodesphereClient;
const exchanges: Exchange[] = [];

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.bucket(BUCKET);
  cp = await ServedControlPlane.start({ tokens: ["backup-token=1"], operationDelayMs: 20, testClock: true });
  client = clientFor(cp, "backup-token", exchanges);
}, 600_000);

afterAll(async () => {
  await client?.close();
  await cp?.close();
  await s3?.close();
});

/** The docs-shaped postgresql request with backups into the test store. */
function withBackups(name: string, prefix: string) {
  const request = postgresRequest(name);
  return {
    ...request,
    backups: {
      enabled: true as const,
      intervalH: 24,
      deleteRetentionDays: 7,
      config: { endpointUrl: s3.endpoint, destinationPath: `s3://${BUCKET}/${prefix}` },
      secrets: { accessKey: s3.accessKey, secretKey: s3.secretKey },
    },
  };
}

async function objectKeys(prefix: string): Promise<string[]> {
  const out = await s3.client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

async function data(id: string): Promise<unknown> {
  return (await cp.backend("GET", `/api/v1/postgresql/${id}/data`)).body;
}

async function put(id: string, key: string, value: unknown): Promise<void> {
  expect((await cp.backend("PUT", `/api/v1/postgresql/${id}/data/${key}`, { value })).status).toBe(204);
}

/** Waits until every backup entry of the service is confirmed, and returns it. */
async function allConfirmed(id: string, count: number): Promise<ManagedService> {
  return waitForState(
    client,
    id,
    (s) => s.backups.entries.length === count && s.backups.entries.every((e) => e.confirmedAt),
    { timeoutMs: 30_000 },
  );
}

function clockNow(): Promise<number> {
  return cp.advanceClock(0);
}

describe("scheduled and manual backups", () => {
  let source: ManagedService;
  let midway = 0;

  it("takes a backup every intervalH hours into the bucket, on the clock", async () => {
    source = await client.managedServices.create(withBackups("backed-up-db", "team1"));
    await waitForState(client, source.id, "synchronized", { timeoutMs: 20_000 });
    await put(source.id, "k1", 1);
    expect((await client.managedServices.get(source.id)).backups.entries).toEqual([]);

    await cp.advanceClock(24 * HOUR_MS + 1000);
    const backedUp = await allConfirmed(source.id, 1);
    const [entry] = backedUp.backups.entries;
    expect(entry).toMatchObject({
      scheduledAt: expect.any(String),
      initiatedAt: expect.any(String),
      confirmedAt: expect.any(String),
    });
    expect(await objectKeys(`team1/1/${source.id}/`)).toEqual([`team1/1/${source.id}/${entry!.id}.json`]);
  });

  it("takes one now on request, and returns its entry at once", async () => {
    await put(source.id, "k2", 2);
    midway = await clockNow();
    await new Promise((r) => setTimeout(r, 20));
    await put(source.id, "k3", 3);
    const entry = await client.managedServices.scheduleBackup(source.id);
    expect(entry).toEqual({ id: expect.any(String), scheduledAt: expect.any(String) });
    await allConfirmed(source.id, 2);
    expect(await objectKeys(`team1/1/${source.id}/`)).toHaveLength(2);
  });

  it("restores a new service from a backup with exactly the backup's data", async () => {
    const first = (await client.managedServices.get(source.id)).backups.entries[0]!;
    const restored = await client.managedServices.create({
      ...postgresRequest("restored-db"),
      recoverFrom: {
        id: first.id,
        config: { endpointUrl: s3.endpoint, destinationPath: `s3://${BUCKET}/team1` },
        secrets: { accessKey: s3.accessKey, secretKey: s3.secretKey },
      },
    });
    await waitForState(client, restored.id, "synchronized", { timeoutMs: 30_000 });
    expect(await data(restored.id)).toEqual({ k1: 1 });
  });

  it("restores a new service to a point in time with exactly the data of that moment", async () => {
    const restored = await client.managedServices.create({
      ...postgresRequest("pitr-db"),
      recoverFrom: {
        msId: source.id,
        time: new Date(midway).toISOString(),
        config: { endpointUrl: s3.endpoint, destinationPath: `s3://${BUCKET}/team1` },
        secrets: { accessKey: s3.accessKey, secretKey: s3.secretKey },
      },
    });
    await waitForState(client, restored.id, "synchronized", { timeoutMs: 30_000 });
    expect(await data(restored.id)).toEqual({ k1: 1, k2: 2 });
  });

  it("refuses recovery from a backup that does not exist or a time outside the retained range", async () => {
    const store = { endpointUrl: s3.endpoint, destinationPath: `s3://${BUCKET}/team1` };
    const secrets = { accessKey: s3.accessKey, secretKey: s3.secretKey };
    for (const [recoverFrom, detail] of [
      [
        { id: "00000000-0000-4000-8000-000000000000", config: store, secrets },
        /recoverFrom\.id: no confirmed backup/,
      ],
      [
        { msId: source.id, time: "2001-01-01T00:00:00Z", config: store, secrets },
        /recoverFrom\.time: .* outside/,
      ],
    ] as const) {
      const error = await client.managedServices
        .create({ ...postgresRequest(`never-${Math.random().toString(36).slice(2, 8)}`), recoverFrom })
        .catch((e: unknown) => e);
      expect((error as { status?: number }).status).toBe(400);
      expect((error as { detail?: string }).detail).toMatch(detail);
    }
  });

  it("deletes backups older than deleteRetentionDays from the store and the entry list", async () => {
    const before = (await client.managedServices.get(source.id)).backups.entries.map((e) => e.id);
    expect(before).toHaveLength(2);
    // Eight days on: both are past the seven-day retention; the schedule keeps taking new ones.
    await cp.advanceClock(8 * DAY_MS);
    const after = await waitForState(
      client,
      source.id,
      (s) =>
        s.backups.entries.every((e) => !before.includes(e.id)) &&
        s.backups.entries.every((e) => e.confirmedAt),
      { timeoutMs: 30_000 },
    );
    const keys = await objectKeys(`team1/1/${source.id}/`);
    for (const id of before) expect(keys.join()).not.toContain(id);
    expect(keys).toEqual(after.backups.entries.map((e) => `team1/1/${source.id}/${e.id}.json`).sort());
  });
});

describe("deletion with backups enabled", () => {
  it("takes the final backup before the backend delete, keeps the record for the retention period, then sweeps it", async () => {
    const svc = await client.managedServices.create(withBackups("final-db", "final"));
    await waitForState(client, svc.id, "synchronized", { timeoutMs: 20_000 });
    await put(svc.id, "last", "words");
    await client.managedServices.delete(svc.id);
    const deleted = await waitForState(client, svc.id, "deleted", { timeoutMs: 30_000 });
    const names = deleted.recentEvents!.map((e) => e.eventName);
    expect(names.indexOf("BackupConfirmed")).toBeGreaterThan(-1);
    expect(names.indexOf("BackupConfirmed")).toBeLessThan(names.indexOf("BackendDeleteAccepted"));
    const [final] = deleted.backups.entries;
    expect(await objectKeys(`final/1/${svc.id}/`)).toEqual([`final/1/${svc.id}/${final!.id}.json`]);

    expect((await client.managedServices.list({ team: 1 })).map((s) => s.id)).not.toContain(svc.id);
    expect((await client.managedServices.list({ team: 1, includeDeleted: true })).map((s) => s.id)).toContain(
      svc.id,
    );
    await cp.advanceClock(6 * DAY_MS);
    await new Promise((r) => setTimeout(r, 200));
    expect((await client.managedServices.get(svc.id)).status.state).toBe("deleted");
    await cp.advanceClock(DAY_MS + 1000);
    // The sweep runs after the clock moved; a read may still see the record as "deleted" for a moment
    // (on PostgreSQL the purge takes a few round trips), so wait for the 404 itself.
    const deadline = Date.now() + 10_000;
    let gone: ManagedService | undefined = await waitForDeleted(client, svc.id, { timeoutMs: 10_000 });
    while (gone && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      gone = await waitForDeleted(client, svc.id, { timeoutMs: 10_000 });
    }
    expect(gone).toBeUndefined();
    const all = await client.managedServices.list({ team: 1, includeDeleted: true });
    expect(all.map((s) => s.id)).not.toContain(svc.id);
  });

  it("does not delete while the store is unreachable, says why in events, and completes once it is back", async () => {
    const svc = await client.managedServices.create(withBackups("stubborn-db", "stubborn"));
    await waitForState(client, svc.id, "synchronized", { timeoutMs: 20_000 });
    await s3.stop();
    try {
      await client.managedServices.delete(svc.id);
      const stuck = await waitForState(
        client,
        svc.id,
        (s) =>
          (s.recentEvents ?? []).some((e) => e.body.includes("not deleted until its final backup is stored")),
        { timeoutMs: 30_000 },
      );
      expect(stuck.status.state).toBe("deleting");
      expect((await cp.backend("GET", "/api/v1/postgresql")).body).toContain(svc.id);
    } finally {
      await s3.start();
    }
    await waitForState(client, svc.id, "deleted", { timeoutMs: 120_000 });
    expect((await cp.backend("GET", "/api/v1/postgresql")).body).not.toContain(svc.id);
  }, 180_000);
});

describe("a backup store that cannot hold the final backup", () => {
  /** The problem a refused call carries. */
  async function refusal(call: Promise<unknown>): Promise<{ status?: number; detail?: string }> {
    const error = (await call.then(
      () => ({}),
      (e: unknown) => e,
    )) as { status?: number; detail?: string; traceId?: string; title?: string };
    expect(error).toMatchObject({ status: expect.any(Number), title: expect.any(String) });
    expect(error.traceId).toEqual(expect.any(String));
    return error;
  }

  /** Moves the clock on past each retry's backoff until the service's events hold `name`. */
  async function untilEvent(id: string, name: string): Promise<ManagedService> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const svc = await client.managedServices.get(id);
      if ((svc.recentEvents ?? []).some((e) => e.eventName === name)) return svc;
      if (Date.now() > deadline) throw new Error(`no ${name} event on ${id} within 90 s`);
      await cp.advanceClock(61_000);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  it("refuses addresses that could never hold a backup, naming the field and the rule", async () => {
    const good = withBackups("never-backed-up", "never");
    const cases = [
      [{ destinationPath: "s3:///never" }, /^backups\.config\.destinationPath: must be s3:\/\/BUCKET/],
      [{ destinationPath: "s3://Not_A_Bucket/x" }, /^backups\.config\.destinationPath: .*valid bucket name/],
      [
        { endpointUrl: "http://someone:password@127.0.0.1:9000" },
        /^backups\.config\.endpointUrl: must not carry credentials/,
      ],
    ] as const;
    for (const [config, detail] of cases) {
      const request = {
        ...good,
        backups: { ...good.backups, config: { ...good.backups.config, ...config } },
      };
      const problem = await refusal(client.managedServices.create(request));
      expect(problem.status).toBe(400);
      expect(problem.detail).toMatch(detail);
    }
    const live = await client.managedServices.create(good);
    const patched = refusal(
      client.managedServices.update(live.id, { backups: { config: { destinationPath: "s3://" } } }),
    );
    expect((await patched).detail).toMatch(/^backups\.config\.destinationPath: /);
    await client.managedServices.delete(live.id);
  });

  it("a bucket that is not there: the delete waits, says how to mend it, and ends once the destination is corrected", async () => {
    const request = withBackups("lost-bucket-db", "lost");
    request.backups.config.destinationPath = "s3://no-such-bucket-here/lost";
    const svc = await client.managedServices.create(request);
    await waitForState(client, svc.id, "synchronized", { timeoutMs: 20_000 });
    await client.managedServices.delete(svc.id);
    const stuck = await untilEvent(svc.id, "FinalBackupFailed");
    expect(stuck.status.state).toBe("deleting");
    const failed = stuck.recentEvents!.find((e) => e.eventName === "FinalBackupFailed")!;
    expect(failed.body).toMatch(
      /failed 5 times .*bucket.*correct backups\.config or backups\.secrets with PATCH/,
    );
    expect((await cp.backend("GET", "/api/v1/postgresql")).body).toContain(svc.id);

    // Only backups may change while the delete waits; anything else is a conflict that says so.
    const renamed = await refusal(client.managedServices.update(svc.id, { name: "lost-bucket-db-2" }));
    expect(renamed.status).toBe(409);
    expect(renamed.detail).toMatch(/only backups can change while the delete waits for its final backup/);

    await client.managedServices.update(svc.id, {
      backups: { config: { destinationPath: `s3://${BUCKET}/mended` } },
    });
    const deleted = await waitForState(client, svc.id, "deleted", { timeoutMs: 30_000 });
    const [final] = deleted.backups.entries;
    expect(await objectKeys(`mended/1/${svc.id}/`)).toEqual([`mended/1/${svc.id}/${final!.id}.json`]);
    expect((await cp.backend("GET", "/api/v1/postgresql")).body).not.toContain(svc.id);
    // Deleted at the backend: nothing more changes.
    const late = await refusal(client.managedServices.update(svc.id, { backups: { enabled: false } }));
    expect(late.status).toBe(409);
  }, 180_000);

  it("refused credentials: switching backups off lets the delete go on without a final backup", async () => {
    const request = withBackups("refused-db", "refused");
    request.backups.secrets = { ...request.backups.secrets, secretKey: "not-the-secret-key" };
    const svc = await client.managedServices.create(request);
    await waitForState(client, svc.id, "synchronized", { timeoutMs: 20_000 });
    await client.managedServices.delete(svc.id);
    const stuck = await untilEvent(svc.id, "FinalBackupFailed");
    expect(stuck.status.state).toBe("deleting");
    await client.managedServices.update(svc.id, { backups: { enabled: false } });
    expect(await waitForDeleted(client, svc.id, { timeoutMs: 30_000 })).toBeUndefined();
    expect((await cp.backend("GET", "/api/v1/postgresql")).body).not.toContain(svc.id);
    expect(await objectKeys(`refused/`)).toEqual([]);
  }, 180_000);
});

describe("the whole run", () => {
  it("answered as the published document says and never showed a backup secret", async () => {
    expect(exchanges.map(contractViolation).filter(Boolean)).toEqual([]);
    const events = await Promise.all(
      (await client.managedServices.list({ team: 1, includeDeleted: true })).map((s) =>
        client.managedServices.events(s.id, { limit: 1000 }),
      ),
    );
    const haystack = [cp.output, s3.output(), ...exchanges.map((x) => x.body), JSON.stringify(events)].join(
      "\n",
    );
    // The access key is a backup *secret* of the postgresql provider, so it must not show either.
    for (const secret of [...SECRETS, s3.secretKey, s3.accessKey]) expect(haystack).not.toContain(secret);
    void S3_ACCESS_KEY;
    void S3_SECRET;
  });
});
