/**
 * An open-loop load: GET requests offered at a fixed rate over a pool of
 * keep-alive connections, each request's latency kept exactly (not in whole
 * milliseconds, as autocannon's histogram keeps them).
 *
 * Latency counts from the moment a request was due, not from when it was
 * sent: a server that falls behind makes the requests queued behind it late,
 * and a closed loop would hide that (coordinated omission). autocannon's own
 * rate option sends in bursts per connection, which measures its bursts.
 */
import { Pool } from "undici";

export interface PacedResult {
  /** Requests answered per second over the run. */
  rps: number;
  p50: number;
  p99: number;
  max: number;
}

export async function pacedGet(
  url: string,
  options: { rate: number; seconds: number; connections: number; headers: Record<string, string> },
): Promise<PacedResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: options.connections, pipelining: 1 });
  const latencies: number[] = [];
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const total = Math.round(options.rate * options.seconds);
  const started = performance.now();
  let sent = 0;
  try {
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate));
      for (; sent < due; sent++) {
        const dueAt = started + (sent / options.rate) * 1000;
        const p = pool
          .request({ path: target.pathname + target.search, method: "GET", headers: options.headers })
          .then(async (res) => {
            await res.body.text();
            if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`);
            else latencies.push(performance.now() - dueAt);
          })
          .catch((e: unknown) => {
            failures.push(e instanceof Error ? e.message : String(e));
          });
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inFlight);
  } finally {
    await pool.close();
  }
  if (failures.length > 0)
    throw new Error(`${url}: ${failures.length} failed requests, first: ${failures[0]}`);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    rps: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies[latencies.length - 1]!,
  };
}
