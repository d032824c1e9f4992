/**
 * The typed client of the Codesphere public API for managed services. One
 * method per operation, grouped per resource (./resources.ts), mirroring the
 * endpoints one to one: requests are checked against the contract before they
 * leave, answers are parsed with it before they arrive. This file builds the
 * client from its options (base URL, token, timeouts, retries, connections).
 *
 *   const client = new CodesphereClient(); // CS_API and CS_TOKEN from the environment
 *   const svc = await client.managedServices.create({ teamId: 1, name: "db", ... });
 *   await waitForState(client, svc.id, "synchronized");
 *   await client.close();
 */
import { Agent, type Dispatcher } from "undici";
import { ApiCore } from "./api-core";
import { ConfigurationError } from "./errors";
import { ManagedServices, Providers } from "./resources";
import {
  DEFAULT_MAX_RETRIES,
  DEFAULT_RETRY_AFTER_MAX_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  sleep as defaultSleep,
  dispatcherFetch,
  type FetchLike,
  type SleepFn,
  Transport,
} from "./transport";

export interface ClientOptions {
  /** API root, e.g. `https://codesphere.com/api`. Default: env `CS_API`. */
  baseUrl?: string;
  /** Bearer token. Default: env `CS_TOKEN`. */
  token?: string;
  /** Limit per attempt in ms (connect, headers, body). Default 60 000. */
  timeoutMs?: number;
  /** Retries after the first attempt, where a retry is safe. Default 3. */
  maxRetries?: number;
  /** An undici dispatcher to use instead of the client's own keep-alive Agent (not closed by `close()`). */
  dispatcher?: Dispatcher;
  /** A fetch implementation to use instead of undici's. Without `dispatcher`, it manages its own connections. */
  fetchImpl?: FetchLike;
  /** Extra headers on every request (`authorization` cannot be overridden). */
  headers?: Record<string, string>;
  /** First backoff ceiling in ms; doubles per retry. Default 100. */
  retryBaseDelayMs?: number;
  /** Backoff ceiling in ms. Default 8 000. */
  retryMaxDelayMs?: number;
  /** Longest `Retry-After` honoured, in ms. Default 60 000. */
  retryAfterMaxMs?: number;
  /** Injectable for tests: how to wait between retries. */
  sleep?: SleepFn;
  /** Injectable for tests: uniform random in [0, 1) for the jitter. */
  random?: () => number;
}

// The resources are part of the client's surface (sdk/index.ts takes them from here).
export {
  type ListEventsParams,
  type ListManagedServicesParams,
  type ListProvidersParams,
  ManagedServices,
  Providers,
} from "./resources";
export type { RequestOptions } from "./transport";

export class CodesphereClient {
  readonly baseUrl: string;
  /** The provider catalog: `/managed-services/providers`. */
  readonly providers: Providers;
  /** Managed services: `/managed-services`. */
  readonly managedServices: ManagedServices;
  readonly #agent: Agent | undefined;

  constructor(options: ClientOptions = {}) {
    const baseUrl = options.baseUrl || process.env.CS_API;
    if (!baseUrl) {
      throw new ConfigurationError(
        "No API base URL: pass { baseUrl } to new CodesphereClient() or set CS_API (e.g. https://codesphere.com/api)",
      );
    }
    const token = options.token || process.env.CS_TOKEN;
    if (!token) {
      throw new ConfigurationError("No API token: pass { token } to new CodesphereClient() or set CS_TOKEN");
    }
    this.baseUrl = normalizeBaseUrl(baseUrl);

    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new ConfigurationError(`timeoutMs must be > 0, got ${timeoutMs}`);
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new ConfigurationError(`maxRetries must be an integer >= 0, got ${maxRetries}`);
    }

    let dispatcher = options.dispatcher;
    if (!dispatcher && !options.fetchImpl) {
      // Owned keep-alive pool; connect failures surface before the call's own timeout.
      this.#agent = new Agent({ connect: { timeout: Math.min(timeoutMs, 10_000) } });
      dispatcher = this.#agent;
    }

    const transport = new Transport({
      baseUrl: this.baseUrl,
      token,
      timeoutMs,
      maxRetries,
      // Without a fetch of the caller's, requests go straight to the dispatcher (see dispatcherFetch).
      fetch: options.fetchImpl ?? dispatcherFetch(dispatcher as Dispatcher),
      dispatcher: options.fetchImpl ? dispatcher : undefined,
      sleep: options.sleep ?? defaultSleep,
      random: options.random ?? Math.random,
      retryBaseDelayMs: options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
      retryMaxDelayMs: options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS,
      retryAfterMaxMs: options.retryAfterMaxMs ?? DEFAULT_RETRY_AFTER_MAX_MS,
      headers: { "user-agent": "landform-sdk", ...lowerCaseKeys(options.headers ?? {}) },
    });
    const core = new ApiCore(transport);
    this.providers = new Providers(core);
    this.managedServices = new ManagedServices(core);
  }

  /** Closes the client's own connection pool (a `dispatcher` passed in stays open). */
  async close(): Promise<void> {
    await this.#agent?.close();
  }
}

function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(
      `Invalid API base URL ${JSON.stringify(raw)}: expected e.g. https://codesphere.com/api`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigurationError(`Invalid API base URL ${JSON.stringify(raw)}: must be http or https`);
  }
  if (url.search || url.hash) {
    throw new ConfigurationError(
      `Invalid API base URL ${JSON.stringify(raw)}: must not carry a query or fragment`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}
