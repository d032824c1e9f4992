import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type * as schemas from "../../sdk/schemas";
import { CreateIntents } from "./intents";
import { DEFAULT_DEADLINES, deadlinesFrom, parseDuration } from "./lifecycle";

describe("deadlines", () => {
  it("default to 20 minutes for create and update, 10 for delete", () => {
    expect(deadlinesFrom(undefined)).toEqual(DEFAULT_DEADLINES);
    expect(DEFAULT_DEADLINES).toEqual({ createMs: 1_200_000, updateMs: 1_200_000, deleteMs: 600_000 });
  });

  it("take Go-style durations per resource", () => {
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(deadlinesFrom({ create: "45m" }).createMs).toBe(2_700_000);
    expect(() => parseDuration("10 minutes")).toThrow(/not a duration.*30m/);
    expect(() => parseDuration("0s")).toThrow();
  });
});

describe("create intents", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-intents-"));
  const intents = new CreateIntents(dir);
  const service = (id: string, createdAt: string) =>
    ({ id, name: "db", createdAt }) as unknown as schemas.ManagedService;

  it("are invisible while the process that wrote them lives", () => {
    intents.begin("http://api", 1, "db");
    expect(intents.leftBehind("http://api", 1, "db")).toBeUndefined();
  });

  it("left by a gone process recognise the service by id, or by creation moments after", () => {
    const file = fs.readdirSync(dir).find((f) => f.endsWith(".json"))!;
    const gone = { apiUrl: "http://api", teamId: 1, name: "db", pid: 2 ** 22 + 17, startedAt: Date.now() };
    fs.writeFileSync(path.join(dir, file), JSON.stringify({ ...gone, serviceId: "s1" }));
    const left = intents.leftBehind("http://api", 1, "db")!;
    expect(CreateIntents.madeBy(left, service("s1", new Date().toISOString()))).toBe(true);
    expect(CreateIntents.madeBy(left, service("s2", new Date().toISOString()))).toBe(false);

    fs.writeFileSync(path.join(dir, file), JSON.stringify(gone));
    const noId = intents.leftBehind("http://api", 1, "db")!;
    expect(CreateIntents.madeBy(noId, service("s3", new Date(gone.startedAt + 500).toISOString()))).toBe(
      true,
    );
    expect(
      CreateIntents.madeBy(noId, service("s3", new Date(gone.startedAt + 3_600_000).toISOString())),
    ).toBe(false);
  });

  it("are keyed by API, team and name, and gone once ended", () => {
    expect(intents.leftBehind("http://other", 1, "db")).toBeUndefined();
    intents.end({ apiUrl: "http://api", teamId: 1, name: "db" });
    expect(intents.leftBehind("http://api", 1, "db")).toBeUndefined();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
