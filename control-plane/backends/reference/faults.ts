/**
 * Fault injection for the contract calls of the reference backends, so a
 * control plane's retries, backoff and error reporting can be tested against
 * a backend that misbehaves on demand. Settings live in memory only.
 */

export interface FaultSettings {
  /** Fail this many of the next calls, then stop (counts down). */
  failNext: number;
  /** Probability (0..1) that any other call fails; 0 and 1 are deterministic. */
  failRate: number;
  /** Delay before every affected call is answered, failed or not. */
  latencyMs: number;
  /** Status of an injected failure. */
  status: number;
  /** Limit the faults to one provider's calls; all providers when absent. */
  provider?: string;
}

export interface FaultDecision {
  latencyMs: number;
  /** The status to fail with, or undefined to handle the call normally. */
  failStatus?: number;
}

const NONE: FaultSettings = { failNext: 0, failRate: 0, latencyMs: 0, status: 502 };
const MAX_LATENCY_MS = 60_000;

export class FaultInjector {
  private settings: FaultSettings = { ...NONE };

  /** `random` returns a number in [0, 1); inject one to make `failRate` reproducible. */
  constructor(private readonly random: () => number = Math.random) {}

  get(): FaultSettings {
    return { ...this.settings };
  }

  set(settings: FaultSettings): void {
    this.settings = { ...settings };
  }

  clear(): void {
    this.settings = { ...NONE };
  }

  /** Decides the fate of one contract call to `provider`. */
  decide(provider: string): FaultDecision {
    const s = this.settings;
    if (s.provider !== undefined && s.provider !== provider) return { latencyMs: 0 };
    if (s.failNext > 0) {
      s.failNext -= 1;
      return { latencyMs: s.latencyMs, failStatus: s.status };
    }
    if (s.failRate > 0 && this.random() < s.failRate) return { latencyMs: s.latencyMs, failStatus: s.status };
    return { latencyMs: s.latencyMs };
  }
}

/**
 * Reads `POST /admin/faults`: every field optional, absent ones take their
 * neutral value (the call replaces the settings as a whole). Returns the
 * settings, or a message naming the field and the rule.
 */
export function parseFaultSettings(body: unknown, providers: ReadonlySet<string>): FaultSettings | string {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "body must be a JSON object";
  const b = body as Record<string, unknown>;
  const known = new Set(["failNext", "failRate", "latencyMs", "status", "provider"]);
  const unknown = Object.keys(b).find((k) => !known.has(k));
  if (unknown !== undefined) return `${unknown}: is not a known field`;

  const out: FaultSettings = { ...NONE };
  if (b.failNext !== undefined) {
    if (!Number.isSafeInteger(b.failNext) || (b.failNext as number) < 0) {
      return "failNext: must be a non-negative integer";
    }
    out.failNext = b.failNext as number;
  }
  if (b.failRate !== undefined) {
    if (typeof b.failRate !== "number" || !(b.failRate >= 0 && b.failRate <= 1)) {
      return "failRate: must be a number from 0 to 1";
    }
    out.failRate = b.failRate;
  }
  if (b.latencyMs !== undefined) {
    if (
      !Number.isSafeInteger(b.latencyMs) ||
      (b.latencyMs as number) < 0 ||
      (b.latencyMs as number) > MAX_LATENCY_MS
    ) {
      return `latencyMs: must be an integer from 0 to ${MAX_LATENCY_MS}`;
    }
    out.latencyMs = b.latencyMs as number;
  }
  if (b.status !== undefined) {
    if (!Number.isSafeInteger(b.status) || (b.status as number) < 400 || (b.status as number) > 599) {
      return "status: must be an integer from 400 to 599";
    }
    out.status = b.status as number;
  }
  if (b.provider !== undefined) {
    if (typeof b.provider !== "string" || !providers.has(b.provider)) {
      return `provider: must be one of ${[...providers].join(", ")}`;
    }
    out.provider = b.provider;
  }
  return out;
}
