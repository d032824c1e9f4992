/**
 * What bench/scale.ts measured of one store, and how it prints: each GET
 * round's line and the side-by-side table with the goals.
 */
import type { PacedResult } from "./paced";
import { median } from "./processes";

export interface Load {
  rps: number;
  p99: number;
  /** p99 of the round's warm-up (not counted in the other figures). */
  warmupP99: number | undefined;
  /** CPU the server used per answered request (µs; with PostgreSQL, its server's too): less shaken by other load than req/s. */
  cpuMicros: number;
  /** The machine's 1-minute load average at the end of the round (2 cores here: above 2 means queued work). */
  loadAverage: number;
}

export interface Figures {
  label: string;
  replicasSync: number;
  bodyBytes: number;
  bare: Load[];
  ours: Load[];
  bareAtRate: PacedResult;
  oursAtRate: PacedResult;
  createsPerSecond: number;
  acceptSeconds: number;
  syncSeconds: number | undefined;
  syncedAtEnd: number;
  idleServe: number[];
  idlePostgres: number[] | undefined;
  idleBackend: number[];
  /** Health sweeps (every converged service asked about once) in the idle time: one a minute, jittered. */
  sweeps: number;
  rssServe: number[];
}

export const pct = (x: number) => `${x.toFixed(2)}%`;
export const ms = (x: number) => x.toFixed(2);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function printLoads(name: string, loads: Load[]): void {
  console.log(
    `${name}  median ${median(loads.map((l) => l.rps)).toFixed(0)} req/s (rounds ${loads.map((l) => l.rps.toFixed(0)).join(", ")})` +
      `  p99 ${loads.map((l) => l.p99).join(", ")} ms (warm-up ${loads.map((l) => l.warmupP99 ?? "-").join(", ")})  CPU ${loads.map((l) => l.cpuMicros.toFixed(1)).join(", ")} µs/req` +
      `  load average ${loads.map((l) => l.loadAverage.toFixed(2)).join(", ")}`,
  );
}

/** What the table's headings quote of the run's settings. */
export interface Settings {
  services: number;
  rate: number;
  concurrency: number;
  syncTimeout: number;
  idleSeconds: number;
}

export function printTable(all: Figures[], settings: Settings): void {
  const { services: N, rate, concurrency, syncTimeout, idleSeconds } = settings;
  const rows: [string, (f: Figures) => string, string][] = [
    ["GET req/s, landform", (f) => median(f.ours.map((l) => l.rps)).toFixed(0), ""],
    ["GET req/s, bare node:http", (f) => median(f.bare.map((l) => l.rps)).toFixed(0), ""],
    [
      "GET ratio landform/bare",
      (f) => (median(f.ours.map((l) => l.rps)) / median(f.bare.map((l) => l.rps))).toFixed(2),
      ">= 0.6",
    ],
    // autocannon's latency histogram keeps whole milliseconds (floored): "2" means 2.0-2.99 ms.
    ["GET p99 ms, landform", (f) => `${median(f.ours.map((l) => l.p99))}`, "< 5"],
    ["GET p99 ms, bare node:http", (f) => `${median(f.bare.map((l) => l.p99))}`, ""],
    ["GET CPU µs/req, landform (+PostgreSQL)", (f) => median(f.ours.map((l) => l.cpuMicros)).toFixed(1), ""],
    ["GET CPU µs/req, bare node:http", (f) => median(f.bare.map((l) => l.cpuMicros)).toFixed(1), ""],
    [
      "load average during GET (1 min)",
      (f) => {
        const all = [...f.bare, ...f.ours].map((l) => l.loadAverage);
        return `${Math.min(...all).toFixed(1)}-${Math.max(...all).toFixed(1)}`;
      },
      "",
    ],
    [`GET p99 ms at ${rate} req/s, landform`, (f) => ms(f.oursAtRate.p99), ""],
    [`GET p99 ms at ${rate} req/s, bare`, (f) => ms(f.bareAtRate.p99), ""],
    [`creates/s (${concurrency} at a time)`, (f) => f.createsPerSecond.toFixed(0), ""],
    [
      `${N} to synchronized, s`,
      (f) =>
        f.syncSeconds === undefined
          ? `>${syncTimeout} (${f.syncedAtEnd})`
          : `${f.syncSeconds.toFixed(2)} (${f.replicasSync} repl.)`,
      "< 10 / < 30",
    ],
    [
      `idle CPU serve, % core (${idleSeconds} s)`,
      (f) => (f.idleServe.length ? pct(mean(f.idleServe)) : "-"),
      "< 2%",
    ],
    ["idle CPU PostgreSQL server", (f) => (f.idlePostgres?.length ? pct(mean(f.idlePostgres)) : "-"), ""],
    // With PostgreSQL the database is part of what holding the fleet costs.
    [
      "idle CPU serve + PostgreSQL",
      (f) =>
        f.idleServe.length ? pct(mean(f.idleServe) + (f.idlePostgres ? mean(f.idlePostgres) : 0)) : "-",
      "",
    ],
    [
      "health sweeps in the idle time",
      (f) => (f.idleServe.length && !Number.isNaN(f.sweeps) ? String(f.sweeps) : "-"),
      "",
    ],
    ["idle CPU backend (simulated)", (f) => (f.idleBackend.length ? pct(mean(f.idleBackend)) : "-"), ""],
    ["serve RSS MiB at the end", (f) => f.rssServe.map((x) => x.toFixed(0)).join(" + "), ""],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length)) + 2;
  const cols = all.map((f) => Math.max(f.label.length, ...rows.map((r) => r[1](f).length)) + 2);
  const line = (cells: string[]) =>
    `${cells.map((c, i) => (i === 0 ? c.padEnd(w0) : c.padStart(cols[i - 1] ?? 10))).join("")}   `;
  console.log(`\n${N} services on landform backend (simulated engines, 0 ms operations)`);
  console.log(`${line(["", ...all.map((f) => f.label)])}goal`);
  for (const [name, value, goal] of rows) console.log(`${line([name, ...all.map(value)])}${goal}`);
}
