/**
 * Hostile input never hurts (issue 10): `landform serve` takes over ten
 * thousand generated malformed and adversarial requests (wrong types, huge and
 * deeply nested bodies, unicode and control characters, invalid UUIDs,
 * catastrophic patterns, provider schemas with `$id`, other drafts and remote
 * refs, header abuse over raw sockets) and
 * - answers each with a 4xx Problem JSON or a success, never a 5xx;
 * - keeps answering /health within a second throughout, and never exits;
 * - keeps its resident memory flat after warm-up;
 * - ends with exactly the state the successful requests made;
 * - never lets a backend's error text carry a secret into an event.
 * The run is seeded: the seed is printed, FC_SEED=<seed> replays it.
 */
import type { ChildProcess } from "node:child_process";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EchoingBackend, FAILING_SIZE } from "./support/echo-backend";
import {
  type Built,
  build,
  hostileProvider,
  MAX_BODY,
  PROVIDERS,
  type Recipe,
  recipe,
  SERVICES,
  secretOf,
  validService,
} from "./support/hostile";
import { rawRecipe, rawRequest, sendRaw } from "./support/raw-http";
import { ServedControlPlane } from "./support/serve";

const TOKEN = "hostile-team-token"; // team 1
const OTHER = "hostile-other-token"; // team 2
const BACKEND_KEY = "hostile-backend-key-Vb81-quartz";
const SECRET = new RegExp(`^${secretOf(0).replace("0", "\\d+")}$`);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const HTTP_RUNS = 9_000;
const RAW_RUNS = 1_000;
const HEAP_MIB = 128;

let cp: ServedControlPlane;
let backend: EchoingBackend;
/** The services whose backend echoes their secrets in its errors. */
const failing: string[] = [];
/** Every secret the backend was sent, to look for in events. */
const sentSecrets = new Set<string>();

// ---------------------------------------------------------------- talking to the control plane

interface Answer {
  status: number;
  contentType: string;
  text: string;
  json: unknown;
}

const port = () => Number(new URL(cp.url).port);

async function send(req: Built): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (req.authorization === undefined) headers.authorization = `Bearer ${TOKEN}`;
  else if (req.authorization !== null) headers.authorization = req.authorization;
  if (req.body !== undefined) headers["content-type"] = "application/json";
  // Over the limit the server answers 413 and closes before reading it all, which fetch reports as EPIPE.
  if (req.raw || (req.body !== undefined && req.body.length > MAX_BODY)) {
    const body = Buffer.from(req.body ?? "");
    const head = Object.entries({ ...headers, "content-length": String(body.length) })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("");
    const raw = Buffer.concat([
      Buffer.from(
        `${req.method} ${req.path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n${head}\r\n`,
      ),
      body,
    ]);
    const answer = await sendRaw(port(), raw);
    if (!answer) throw new Error(`${req.method} ${req.path}: no answer`);
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      json = undefined;
    }
    return {
      status: answer.status,
      contentType: answer.headers["content-type"] ?? "",
      text: answer.body,
      json,
    };
  }
  const res = await fetch(`${cp.url}${req.path}`, {
    method: req.method,
    headers,
    ...(req.body === undefined ? {} : { body: req.body }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", text, json };
}

async function get(path: string, token = TOKEN): Promise<unknown> {
  const a = await send({ method: "GET", path, authorization: `Bearer ${token}` });
  if (a.status !== 200) throw new Error(`GET ${path}: ${a.status} ${a.text}`);
  return a.json;
}

/** A 4xx must be Problem JSON whose status matches, with a title, a detail and a traceId. */
function expectProblem(status: number, contentType: string, body: unknown, what: string): void {
  expect(contentType, what).toMatch(/^application\/problem\+json/);
  const p = body as Record<string, unknown>;
  expect(p?.status, what).toBe(status);
  for (const field of ["title", "detail", "traceId"])
    expect(typeof p?.[field], `${what}: ${field}`).toBe("string");
}

const describeReq = (r: Recipe, req: Built) =>
  `${JSON.stringify(r).slice(0, 300)} -> ${req.method} ${req.path.slice(0, 200)} (${req.body?.length ?? 0} bytes)`;

// ---------------------------------------------------------------- the expected state

type Json = Record<string, unknown>;
const view = (s: Json) => ({
  id: s.id,
  name: s.name,
  provider: s.provider,
  plan: s.plan,
  config: s.config,
  pause: s.pause,
  backupsEnabled: (s.backups as Json | undefined)?.enabled,
});
const providerKey = (p: Json) => `${p.name}/${p.schemaVersion}`;

const model = { services: new Map<string, unknown>(), providers: new Map<string, unknown>() };
const deleted = new Set<string>();

/** Applies what a successful write did, as its answer says. */
function apply(req: Built, a: Answer): void {
  if (a.status >= 300 || req.method === "GET" || req.method === "HEAD") return;
  const body = a.json as Json | undefined;
  const path = req.path.split("?")[0] as string;
  if (path.startsWith(PROVIDERS)) {
    if (req.method === "DELETE") model.providers.delete(path.slice(PROVIDERS.length + 1));
    else if (body) model.providers.set(providerKey(body), body);
  } else if (path.startsWith(SERVICES)) {
    if (req.method === "DELETE") deleted.add(path.slice(SERVICES.length + 1));
    else if (body && typeof body.id === "string" && !path.endsWith("/backups"))
      model.services.set(body.id, view(body));
  }
}

async function actualState() {
  const services = ((await get(`${SERVICES}?team=1`)) as Json[]).filter((s) => !deleted.has(s.id as string));
  const providers = (await get(PROVIDERS)) as Json[];
  return {
    services: services.map(view).sort((a, b) => String(a.id).localeCompare(String(b.id))),
    providers: providers.sort((a, b) => providerKey(a).localeCompare(providerKey(b))),
  };
}

function expectedState() {
  return {
    services: [...model.services.values()].sort((a, b) =>
      String((a as Json).id).localeCompare(String((b as Json).id)),
    ),
    providers: [...model.providers.values()].sort((a, b) =>
      providerKey(a as Json).localeCompare(providerKey(b as Json)),
    ),
  };
}

// ---------------------------------------------------------------- watching the process

/** Slowest answer per kind of request, in ms, for the summary line. */
const slowest: Record<string, number> = {};
const watch = { maxHealthMs: 0, probes: 0, failures: [] as string[], stop: false };

async function probeHealth(): Promise<void> {
  while (!watch.stop) {
    const start = performance.now();
    try {
      const res = await fetch(`${cp.url}/health`, { signal: AbortSignal.timeout(5_000) });
      await res.text();
      if (res.status !== 200) watch.failures.push(`/health answered ${res.status}`);
    } catch (error) {
      watch.failures.push(`/health failed: ${(error as Error).message}`);
    }
    watch.maxHealthMs = Math.max(watch.maxHealthMs, performance.now() - start);
    watch.probes++;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function rssBytes(): Promise<number> {
  const res = await fetch(`${cp.url}/metrics`);
  const match = /^process_resident_memory_bytes (\d+)$/m.exec(await res.text());
  if (!match) throw new Error("/metrics has no process_resident_memory_bytes");
  return Number(match[1]);
}

const child = () => (cp as unknown as { child?: ChildProcess }).child;

// ---------------------------------------------------------------- the suite

beforeAll(async () => {
  backend = await EchoingBackend.start(BACKEND_KEY);
  // A small heap: a leak shows as a crash (the process must not exit) long before the machine notices.
  const nodeOptions = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${nodeOptions ?? ""} --max-old-space-size=${HEAP_MIB}`;
  try {
    cp = await ServedControlPlane.start({ tokens: [`${TOKEN}=1`, `${OTHER}=2`] });
  } finally {
    if (nodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = nodeOptions;
  }
  const created = await send({
    method: "POST",
    path: PROVIDERS,
    body: JSON.stringify(hostileProvider(backend.url, BACKEND_KEY)),
  });
  expect(created.status, created.text).toBe(200);
  // A few services to start with, so patches and event checks have targets from the first run on.
  for (const n of [1, 2, 3]) {
    const body = JSON.stringify(validService(n, "aaa", FAILING_SIZE));
    const made = await send({ method: "POST", path: SERVICES, body });
    expect(made.status, made.text).toBe(200);
    failing.push((made.json as Json).id as string);
    sentSecrets.add(secretOf(n));
  }
  for (const p of (await get(PROVIDERS)) as Json[]) model.providers.set(providerKey(p), p);
  for (const s of (await get(`${SERVICES}?team=1`)) as Json[]) model.services.set(s.id as string, view(s));
  console.log(`hostile suite: FC_SEED=${SEED} (set it to replay this run)`);
}, 60_000);

afterAll(async () => {
  watch.stop = true;
  // A crash is the worst outcome: show how the process went.
  if (child()?.exitCode !== null || child()?.signalCode)
    console.error(`landform serve exited:\n${cp?.output.slice(-4_000)}`);
  await cp?.close();
  await backend?.close();
});

describe("landform serve under hostile input", () => {
  const rss: number[] = [];
  let sent = 0;

  it("answers every generated request with a 4xx Problem JSON or a success, and stays responsive", async () => {
    const prober = probeHealth();
    let warm = 0;
    await fc.assert(
      fc.asyncProperty(recipe, async (r) => {
        const known = [...model.services.keys()];
        const req = build(r, known, backend.url, sent);
        const started = performance.now();
        const a = await send(req);
        sent++;
        slowest[r.kind] = Math.max(slowest[r.kind] ?? 0, performance.now() - started);
        const what = `${describeReq(r, req)}: ${a.status} ${a.text.slice(0, 300)}`;
        expect(a.status, what).toBeLessThan(500);
        // A HEAD answer has no body by definition: its status is all there is to check.
        if (a.status >= 400 && req.method !== "HEAD") expectProblem(a.status, a.contentType, a.json, what);
        // A refusal never costs the server long, catastrophic pattern or not.
        if (a.status >= 400) expect(performance.now() - started, what).toBeLessThan(5_000);
        if (r.kind === "validCreate" || (r.kind === "validPatch" && known.length > 0)) {
          expect(a.status, what).toBeLessThan(300);
        }
        if (a.status < 300 && req.method === "POST" && req.body !== undefined) {
          // The suite's own secrets: distinctive enough to look for anywhere in an event log.
          const password = (JSON.parse(req.body) as { secrets?: { password?: unknown } }).secrets?.password;
          if (typeof password === "string" && SECRET.test(password)) sentSecrets.add(password);
        }
        apply(req, a);
        if (sent % 1_000 === 0) {
          rss.push(await rssBytes());
          if (sent === 2_000) warm = rss[rss.length - 1] as number;
        }
      }),
      { seed: SEED, numRuns: HTTP_RUNS, endOnFailure: true },
    );
    await fc.assert(
      fc.asyncProperty(rawRecipe, async (r) => {
        const started = performance.now();
        const answer = await sendRaw(port(), rawRequest(r));
        sent++;
        slowest[`raw ${r.kind}`] = Math.max(slowest[`raw ${r.kind}`] ?? 0, performance.now() - started);
        const what = `${JSON.stringify(r).slice(0, 200)}: ${JSON.stringify(answer).slice(0, 300)}`;
        expect(answer, what).toBeDefined();
        const { status, headers, body } = answer!;
        expect(status, what).toBeGreaterThanOrEqual(200);
        expect(status, what).toBeLessThan(500);
        if (status >= 400) expectProblem(status, headers["content-type"] ?? "", JSON.parse(body), what);
      }),
      { seed: SEED, numRuns: RAW_RUNS, endOnFailure: true },
    );
    rss.push(await rssBytes());
    watch.stop = true;
    await prober;

    const slowestKinds = Object.entries(slowest)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 6)
      .map(([kind, ms]) => `${kind} ${Math.round(ms)} ms`);
    const rssMiB = rss.map((b) => Math.round(b / 2 ** 20));
    console.log(
      `hostile suite: ${sent} requests, /health max ${Math.round(watch.maxHealthMs)} ms over ${watch.probes} probes, RSS MiB ${rssMiB.join(" ")}; slowest answers: ${slowestKinds.join(", ")}`,
    );
    expect(sent).toBeGreaterThanOrEqual(10_000);
    expect(watch.failures).toEqual([]);
    expect(watch.probes).toBeGreaterThan(50);
    expect(watch.maxHealthMs).toBeLessThan(1_000);
    expect(child()?.exitCode).toBeNull();
    expect(child()?.signalCode).toBeNull();
    // Flat after warm-up: what the process keeps is the services and providers made, a few MiB at most.
    expect(warm).toBeGreaterThan(0);
    expect(Math.max(...rss.slice(2))).toBeLessThan(warm + 96 * 2 ** 20);
  }, 600_000);

  it("ends with exactly the state the successful requests made", async () => {
    expect(await actualState()).toEqual(expectedState());
    // The other team saw none of it.
    expect(await get(`${SERVICES}?team=2`, OTHER)).toEqual([]);
  });

  it("never lets a backend's error text carry a secret, a key or a control character into an event", async () => {
    const ids = [...new Set([...failing, ...[...model.services.keys()].slice(0, 20)])];
    // The failing services' backend has by now refused their create and reported an error, both echoing secrets.
    let failed: string[] = [];
    const deadline = Date.now() + 20_000;
    while (failed.length < 2 && Date.now() < deadline) {
      const page = (await get(`${SERVICES}/${failing[0]}/events`)) as { events: Json[] };
      failed = page.events.filter((e) => e.eventName === "BackendCallFailed").map((e) => String(e.body));
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(failed.length).toBeGreaterThanOrEqual(2);
    // Positive control: what the backend said is there, with the secrets taken out.
    expect(failed.join("\n")).toMatch(/backend answered 500 to POST: refused with key \[redacted\]/);
    expect(failed.join("\n")).toMatch(
      /backend reports: disk full; login password=\[redacted\] \(\[redacted\]\)/,
    );
    for (const id of ids) {
      const text = JSON.stringify(await get(`${SERVICES}/${id}/events`));
      const events = (JSON.parse(text) as { events: Json[] }).events;
      expect(text).not.toContain(BACKEND_KEY);
      for (const secret of sentSecrets) expect(text).not.toContain(secret);
      for (const e of events) {
        const body = String(e.body);
        expect(body.length, body.slice(0, 100)).toBeLessThanOrEqual(600);
        expect([...body].filter((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)).toEqual([]);
      }
    }
  });
});
