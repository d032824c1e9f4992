/**
 * Holds the bundled catalog against Codesphere's core catalog as
 * contract/core-catalog.md records it (the values there were produced from
 * the platform's own source). The document is read here, not copied: its
 * property lines carry exact JSON, its plan tables and the few sentences
 * about plans are turned into the same shapes.
 *
 * Every difference must be listed in sdk/contract-notes.ts
 * (`contractDeviations`, keys `core-catalog <name@version or *> <pointer>`,
 * `*` standing for one pointer segment; a deviation covers what lies below
 * its pointer), and every listed one must still be a difference, as the
 * contract test does for the API. Details properties whose description
 * starts with "EXTENSION" are additions, not differences. The backend
 * endpoint and `schemaVersion` are not compared: the first is where the
 * backends run, the second has no value in the document.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contractDeviations } from "../../sdk/contract-notes";
import { bundledCatalog } from "./catalog";
import { schemaCompiler } from "./reference/validation";

type Json = Record<string, unknown>;

const DOC = readFileSync(join(__dirname, "..", "..", "contract", "core-catalog.md"), "utf8");

// ---------------------------------------------------------------- reading the document

/** `- \`name\`: \`{json}\`` lines up to the object-level line, as a JSON Schema object. */
function schemaAt(lines: string[], heading: string): Json | undefined {
  const at = lines.indexOf(heading);
  if (at < 0) return undefined;
  const properties: Json = {};
  for (const line of lines.slice(at + 1)) {
    const prop = /^- `([^`]+)`: `(\{.*\})`$/.exec(line);
    if (prop) {
      properties[prop[1]!] = JSON.parse(prop[2]!);
      continue;
    }
    const level =
      /^- object-level: `required: (\[.*?\])`, `additionalProperties: false`, `type: "object"`$/.exec(line);
    if (level) {
      return { type: "object", properties, required: JSON.parse(level[1]!), additionalProperties: false };
    }
    if (line !== "- (no properties)") throw new Error(`unexpected line under ${heading}: ${line}`);
  }
  throw new Error(`no object-level line under ${heading}`);
}

/** Parameter lines (`  - \`name\`: \`{json}\``) after `from`. */
function parameterLines(lines: string[], from: number): Json {
  const out: Json = {};
  for (const line of lines.slice(from)) {
    const m = /^ {2}- `([^`]+)`: `(\{.*\})`$/.exec(line);
    if (!m) break;
    out[m[1]!] = JSON.parse(m[2]!);
  }
  return out;
}

/** The postgres plan table, with each parameter's schema from the lines under it. */
function databasePlans(lines: string[]): Json[] {
  const template = (re: RegExp) => JSON.parse(lines.map((l) => re.exec(l)?.[1]).find(Boolean)!) as Json;
  const storage0 = template(/^- `storage` \(plan 0\): `(\{.*\})`$/);
  const cpu = template(/^- `cpu` \(plan 0\): `(\{.*\})`$/);
  const memory = template(/^- `memory` \(plan 0\): `(\{.*\})`$/);
  // "storage in plans 1-4: same but WITHOUT x-update-constraint (plan 1: {...})"
  const storageRest = template(/^- `storage` in plans 1-4: .*\(plan 1: `(\{.*\})`\)$/);
  const withDefault = (p: Json, value: number) => ({
    ...p,
    schema: { ...(p.schema as Json), default: value },
  });
  const plans: Json[] = [];
  for (const line of lines) {
    const row = /^\| ([0-9]+) \| ([^|]+) \| ([^|]+) \| ([0-9]+) \| ([0-9]+) \| ([0-9]+) \|$/.exec(line);
    if (!row) continue;
    const id = Number(row[1]);
    plans.push({
      id,
      name: row[2]!.trim(),
      description: row[3]!.trim(),
      parameters: {
        storage: withDefault(id === 0 ? storage0 : storageRest, Number(row[4])),
        cpu: withDefault(cpu, Number(row[5])),
        memory: withDefault(memory, Number(row[6])),
      },
    });
  }
  return plans;
}

function coreCatalog(): Map<string, Json> {
  const entries = new Map<string, Json>();
  const sections = DOC.split(/^## /m).slice(1);
  for (const section of sections) {
    const [title, ...lines] = section.split("\n");
    const head = /^([a-z0-9-]+) (v[0-9]+)$/.exec(title!.trim());
    if (!head) continue;
    const [, name, version] = head;
    const line = (re: RegExp) => lines.map((l) => re.exec(l)).find(Boolean);
    const names = line(/^- displayName `(".*")`; category `([^`]+)`; scope `([^`]+)`; author `([^`]+)`$/)!;
    const entry: Json = {
      name,
      version,
      displayName: JSON.parse(names[1]!),
      category: names[2],
      scope: names[3],
      author: names[4],
      description: JSON.parse(line(/^- description: `(".*")`$/)![1]!),
      iconUrl: line(/^- iconUrl: `([^`]+)`;/)![1],
      capabilities: JSON.parse(line(/^- capabilities: `(\{.*\})`$/)![1]!),
      configSchema: schemaAt(lines, "configSchema properties:"),
      secretsSchema: schemaAt(lines, "secretsSchema properties:"),
      detailsSchema: schemaAt(lines, "detailsSchema properties:"),
    };
    const backupsConfig = schemaAt(lines, "backups.configSchema properties:");
    if (backupsConfig) {
      entry.backups = {
        configSchema: backupsConfig,
        secretsSchema: schemaAt(lines, "backups.secretsSchema properties:"),
      };
    }
    const single = lines.findIndex((l) => /^- id 0, name `[^`]+`, description `".*"`, parameters:$/.test(l));
    if (single >= 0) {
      const m = /^- id 0, name `([^`]+)`, description `(".*")`, parameters:$/.exec(lines[single]!)!;
      entry.plans = [
        { id: 0, name: m[1], description: JSON.parse(m[2]!), parameters: parameterLines(lines, single + 1) },
      ];
    } else if (lines.some((l) => l.startsWith("- Same five plans as postgres"))) {
      const extraAt = lines.findIndex((l) => l.startsWith("- Plus two extra parameters in every plan"));
      const extra = extraAt >= 0 ? parameterLines(lines, extraAt + 1) : {};
      const base = entries.get("postgres@v1")!.plans as Json[];
      entry.plans = base.map((p) => ({ ...p, parameters: { ...(p.parameters as Json), ...extra } }));
    } else {
      entry.plans = databasePlans(lines);
    }
    entries.set(`${name}@${version}`, entry);
  }
  return entries;
}

// ---------------------------------------------------------------- comparing

function differences(core: unknown, ours: unknown, at: string): string[] {
  const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);
  if (Array.isArray(core) && Array.isArray(ours)) {
    if (core.length !== ours.length) return [at];
    return core.flatMap((c, i) => differences(c, ours[i], `${at}/${i}`));
  }
  if (isObject(core) && isObject(ours)) {
    const out: string[] = [];
    for (const key of new Set([...Object.keys(core), ...Object.keys(ours)])) {
      const here = `${at}/${key}`;
      if (!(key in ours) || !(key in core)) {
        const added = ours[key];
        const extension =
          !(key in core) &&
          /\/detailsSchema\/properties$/.test(at) &&
          isObject(added) &&
          String(added.description ?? "").startsWith("EXTENSION");
        if (!extension) out.push(here);
        continue;
      }
      out.push(...differences(core[key], ours[key], here));
    }
    return out;
  }
  return Object.is(core, ours) ? [] : [at];
}

interface Deviation {
  key: string;
  entry: string;
  pointer: string[];
}

const deviations: Deviation[] = Object.keys(contractDeviations)
  .filter((k) => k.startsWith("core-catalog "))
  .map((key) => {
    const [, entry, pointer = ""] = key.split(" ");
    return { key, entry: entry!, pointer: pointer.split("/").slice(1) };
  });

function covers(d: Deviation, entry: string, pointer: string): boolean {
  const [name] = entry.split("@");
  if (d.entry !== "*" && d.entry !== entry && d.entry !== `${name}@*`) return false;
  const segments = pointer.split("/").slice(1);
  if (segments.length < d.pointer.length) return false;
  return d.pointer.every((s, i) => s === "*" || s === segments[i]);
}

const core = coreCatalog();
const bundled = bundledCatalog("http://127.0.0.1:1", "");

/** Every difference of every core entry, as [entry, pointer]. */
function allDifferences(): [string, string][] {
  const out: [string, string][] = [];
  for (const [id, entry] of core) {
    const ours = bundled.find((e) => `${e.name}@${e.version}` === id);
    if (!ours) {
      out.push([id, ""]);
      continue;
    }
    const { backend: _b, schemaVersion: _s, ...compared } = ours;
    for (const p of differences(entry, compared, "")) out.push([id, p]);
  }
  return out;
}

describe("the bundled catalog against the core catalog document", () => {
  it("reads the five core providers and their plans from the document", () => {
    expect([...core.keys()]).toEqual([
      "postgres@v1",
      "babelfish@v1",
      "ferretdb@v0",
      "s3@v1",
      "virtual-k8s@v1",
    ]);
    expect((core.get("postgres@v1")!.plans as Json[]).map((p) => p.name)).toEqual([
      "Small",
      "Medium",
      "Medium High-Mem",
      "Large",
      "Extra Large",
    ]);
    expect(Object.keys((core.get("ferretdb@v0")!.plans as Json[])[4]!.parameters as Json)).toEqual([
      "storage",
      "cpu",
      "memory",
      "ferretdbCpu",
      "ferretdbMemory",
    ]);
    expect(Object.keys((core.get("s3@v1")!.plans as Json[])[0]!.parameters as Json)).toHaveLength(7);
    expect(core.get("s3@v1")!.backups).toBeDefined();
    expect(core.get("ferretdb@v0")!.backups).toBeUndefined();
  });

  it("differs from it only where contractDeviations says so", () => {
    const unlisted = allDifferences()
      .filter(([id, p]) => !deviations.some((d) => covers(d, id, p)))
      .map(([id, p]) => `${id} ${p}`);
    expect(unlisted).toEqual([]);
  });

  it("lists no deviation that is not a difference any more", () => {
    const found = allDifferences();
    const stale = deviations
      .filter((d) => core.has(d.entry) || d.entry === "*")
      .filter((d) => !found.some(([id, p]) => covers(d, id, p)))
      .map((d) => d.key);
    expect(stale).toEqual([]);
  });

  it("lists every bundled provider the core catalog lacks as Landform's own", () => {
    const own = bundled.map((e) => `${e.name}@${e.version}`).filter((id) => !core.has(id));
    expect(own.length).toBeGreaterThan(0);
    for (const id of own) {
      expect(
        deviations.some((d) => d.pointer.length === 0 && covers(d, id, "")),
        id,
      ).toBe(true);
    }
  });

  it("accepts exactly the names and users the core's lookaround patterns accept", () => {
    const compile = schemaCompiler();
    const s3 = bundled.find((e) => e.name === "s3")!;
    const bucket = compile((s3.configSchema.properties as Json).initialBucketName as Json);
    const bucketCore = new RegExp(
      ((core.get("s3@v1")!.configSchema as Json).properties as Json as Record<string, Json>)
        .initialBucketName!.pattern as string,
    );
    const pg = bundled.find((e) => e.name === "postgres")!;
    const user = compile((pg.configSchema.properties as Json).userName as Json);
    const userCore = new RegExp(
      ((core.get("postgres@v1")!.configSchema as Json).properties as Record<string, Json>).userName!
        .pattern as string,
    );
    const same = (s: string) => {
      expect(bucket(s, "b").length === 0, `bucket ${JSON.stringify(s)}`).toBe(bucketCore.test(s));
      expect(user(s, "u").length === 0, `user ${JSON.stringify(s)}`).toBe(userCore.test(s));
    };
    for (const s of [
      "abc",
      "a.b-c",
      "a..b",
      "a.-b",
      "a-.b",
      "a--b",
      ".abc",
      "abc-",
      "ab",
      "a".repeat(63),
      "a".repeat(64),
    ])
      same(s);
    for (const s of ["postgres", "postgres1", "xpostgres", "Postgres", "", "app"]) same(s);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9.\-A_]{0,70}$/), (s) => same(s)),
      { seed: 9, numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^(postgres)?[a-z.-]{0,3}$/), (s) => same(s)),
      { seed: 9, numRuns: 500 },
    );
  });
});
