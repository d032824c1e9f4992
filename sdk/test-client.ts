/**
 * Test helper: clients of the SDK pointed at a scripted server
 * (./test-server.ts), shared by the suites of the client's operations
 * (./client.test.ts) and of its transport (./transport.test.ts). Not part of
 * the SDK.
 */
import { type ClientOptions, CodesphereClient } from "./client";
import type { CreateManagedServiceRequest } from "./schemas";
import { type Handler, type Reply, startServer } from "./test-server";

/**
 * Makes scripted servers with clients and closes them again: call `cleanup`
 * after each test; `defer` adds what a test started itself. Retries' sleeps are recorded in `delays`, not slept, and
 * the jitter is fixed at half the ceiling.
 */
export function scriptedClients(): {
  setup: (
    script: Handler | Reply[],
    options?: ClientOptions,
  ) => Promise<{
    server: Awaited<ReturnType<typeof startServer>>;
    client: CodesphereClient;
    delays: number[];
  }>;
  defer: (...closers: (() => Promise<void>)[]) => void;
  cleanup: () => Promise<void>;
} {
  const cleanups: (() => Promise<void>)[] = [];
  return {
    async setup(script, options = {}) {
      const server = await startServer(script);
      const delays: number[] = [];
      const client = new CodesphereClient({
        baseUrl: server.baseUrl,
        token: "t0ken",
        random: () => 0.5,
        sleep: async (ms) => {
          delays.push(ms);
        },
        ...options,
      });
      cleanups.push(
        () => client.close(),
        () => server.close(),
      );
      return { server, client, delays };
    },
    defer(...closers) {
      cleanups.push(...closers);
    },
    async cleanup() {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}

export function createBody(
  overrides: Partial<CreateManagedServiceRequest> = {},
): CreateManagedServiceRequest {
  return {
    teamId: 1,
    name: "orders-db",
    provider: { name: "postgresql", version: "15" },
    plan: { id: 0, parameters: { storage: 1024 } },
    config: {},
    secrets: { password: "hunter2" },
    ...overrides,
  };
}

/** The error `promise` rejects with; fails when it fulfils. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

export const ok = (body: unknown): Reply => ({ status: 200, body });
