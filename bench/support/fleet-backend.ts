/**
 * The backend the scale benchmark's fleet runs on: `landform backend` (the
 * reference backends, simulated engines, operations taking 0 ms) in a process
 * of its own, registered through the API as a team provider copied from the
 * bundled redis entry.
 *
 * Out of process because replicas each serve bundled reference backends of
 * their own, with state of their own: services must live on one backend all
 * replicas reach. It also keeps the backend's CPU apart from the control
 * plane's, so the idle figures are the control plane's alone.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BenchProcess, CLI, startNodeProcess } from "./processes";

export const FLEET_PROVIDER = { name: "bench-redis", version: "v1" };

/** Starts the backend with its data in `dir` (the caller removes it) and registers FLEET_PROVIDER on the control plane. */
export async function startFleetBackend(dir: string, apiUrl: string, token: string): Promise<BenchProcess> {
  const key = randomBytes(24).toString("base64url");
  const keyFile = join(dir, "backend.key");
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  const backend = await startNodeProcess(
    [
      CLI,
      "backend",
      "--port",
      "0",
      "--data-dir",
      join(dir, "backend-data"),
      "--key-file",
      keyFile,
      "--operation-delay-ms",
      "0",
    ],
    60_000,
    { ...process.env, LANDFORM_ENGINES: "simulated" },
  );
  try {
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const res = await fetch(`${apiUrl}/managed-services/providers`, { headers });
    const catalog = (await res.json()) as Record<string, unknown>[];
    const redis = catalog.find((p) => p.name === "redis");
    if (!redis) throw new Error("the bundled catalog has no redis provider to copy");
    // What the server fills in itself stays out of the definition.
    const { backend: _b, scope: _s, version: _v, schemaVersion: _sv, ...definition } = redis;
    const registered = await fetch(`${apiUrl}/managed-services/providers`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        ...definition,
        ...FLEET_PROVIDER,
        scope: { type: "team", teamIds: [1] },
        backend: { api: { endpoint: `${backend.url}/api/v1/redis`, secret: key } },
      }),
    });
    if (!registered.ok)
      throw new Error(`registering ${FLEET_PROVIDER.name}: ${registered.status} ${await registered.text()}`);
  } catch (error) {
    await backend.stop();
    throw error;
  }
  return backend;
}
