/**
 * Control-plane benchmarks, each against a baseline run side by side in the
 * same process tree (these machines are noisy; compare ratios, not numbers):
 *
 *  1. GET /api/managed-services/{id} on `landform serve` vs a bare node:http
 *     server answering the same JSON bytes: requests per second, interleaved
 *     rounds, ratio of medians.
 *  2. Time for N created services to reach synchronized with zero backend
 *     latency, and the per-service cost.
 *
 * Run: npm run build && node dist/bench/control-plane.js [--services 1000] [--seconds 5] [--rounds 3]
 */
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { CodesphereClient, waitForState } from "../sdk";
import { startBareServer } from "./support/bare-server";
import { median, startServe } from "./support/processes";

const { values } = parseArgs({
  options: {
    services: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
  },
});
const TOKEN = "bench-token";

async function rps(url: string, headers: Record<string, string>): Promise<number> {
  const result = await autocannon({
    url,
    headers,
    connections: Number(values.connections),
    duration: Number(values.seconds),
    pipelining: 1,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

async function main(): Promise<void> {
  const cp = await startServe(TOKEN, 0);
  const client = new CodesphereClient({ baseUrl: `${cp.url}/api`, token: TOKEN });
  try {
    // ---- 1: GET one service vs bare node:http with the same bytes
    const svc = await client.managedServices.create({
      teamId: 1,
      name: "bench-db",
      provider: { name: "postgresql", version: "15" },
      plan: { id: 1, parameters: { storage: 10 } },
      config: { max_connections: "100" },
      secrets: { username: "bench", password: "bench-password" },
    });
    await waitForState(client, svc.id, "synchronized");
    const sample = await fetch(`${cp.url}/api/managed-services/${svc.id}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const body = await sample.text();
    const bare = await startBareServer(body);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ours: number[] = [];
    const base: number[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      base.push(await rps(`${bare.url}/`, auth));
      ours.push(await rps(`${cp.url}/api/managed-services/${svc.id}`, auth));
    }
    await bare.stop();
    console.log(
      `GET /api/managed-services/{id} (${body.length} bytes, ${values.connections} connections, ${values.rounds}x${values.seconds}s interleaved)`,
    );
    console.log(
      `  bare node:http   median ${median(base).toFixed(0)} req/s  rounds ${base.map((x) => x.toFixed(0)).join(", ")}`,
    );
    console.log(
      `  landform serve   median ${median(ours).toFixed(0)} req/s  rounds ${ours.map((x) => x.toFixed(0)).join(", ")}`,
    );
    console.log(`  ratio landform/bare: ${(median(ours) / median(base)).toFixed(2)}`);

    // ---- 2: N services to synchronized, zero backend latency
    const n = Number(values.services);
    const started = performance.now();
    const ids: string[] = [];
    const batch = 32;
    for (let i = 0; i < n; i += batch) {
      const created = await Promise.all(
        Array.from({ length: Math.min(batch, n - i) }, (_, j) =>
          client.managedServices.create({
            teamId: 1,
            name: `fleet-${i + j}`,
            provider: { name: "redis", version: "v1" },
            plan: { id: 0, parameters: {} },
            config: {},
            secrets: { password: `fleet-password-${i + j}` },
          }),
        ),
      );
      ids.push(...created.map((s) => s.id));
    }
    const createdAt = performance.now();
    for (;;) {
      const list = await client.managedServices.list({ team: 1 });
      const synced = list.filter(
        (s) => s.name.startsWith("fleet-") && s.status.state === "synchronized",
      ).length;
      if (synced === n) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const done = performance.now();
    console.log(`${n} services created and synchronized (backend operations take 0 ms)`);
    console.log(`  accepting the creates: ${((createdAt - started) / 1000).toFixed(2)} s`);
    console.log(
      `  all synchronized after: ${((done - started) / 1000).toFixed(2)} s  (${((done - started) / n).toFixed(2)} ms per service)`,
    );
  } finally {
    await client.close();
    await cp.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
