/**
 * Request metrics in the Prometheus text exposition format, written by hand.
 * Every route gets its series object when the route table is compiled, so a
 * request only bumps a counter and one histogram bucket: no label strings are
 * built on the hot path.
 */
import type { ControlPlaneStats } from "../domain/types";

/** Upper bounds (seconds) of the request duration histogram; +Inf is implied. */
export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5] as const;

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The series of one method and route (a route pattern, never a raw path). */
export class RouteSeries {
  readonly labels: string;
  /** status -> count */
  readonly counts = new Map<number, number>();
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;

  constructor(method: string, route: string) {
    this.labels = `method="${escapeLabel(method)}",route="${escapeLabel(route)}"`;
  }

  observe(status: number, seconds: number): void {
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1);
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i++;
    this.buckets[i] = (this.buckets[i] as number) + 1;
    this.sum += seconds;
    this.count++;
  }
}

export class HttpMetrics {
  private readonly series: RouteSeries[] = [];
  private readonly unmatched = new Map<string, RouteSeries>();

  /** Registers the series of a route; call once per route when compiling the table. */
  forRoute(method: string, route: string): RouteSeries {
    const series = new RouteSeries(method, route);
    this.series.push(series);
    return series;
  }

  /** Requests that matched no route share one series per method (`route="unmatched"`). */
  forUnmatched(method: string): RouteSeries {
    const label = KNOWN_METHODS.has(method) ? method : "OTHER";
    let series = this.unmatched.get(label);
    if (!series) {
      series = new RouteSeries(label, "unmatched");
      this.unmatched.set(label, series);
    }
    return series;
  }

  /** The exposition text; `byState` is `stats.servicesByState()`, read from the store by the caller. */
  render(stats: ControlPlaneStats, byState: Record<string, number>): string {
    const all = [...this.series, ...this.unmatched.values()];
    const lines: string[] = [
      "# HELP landform_http_requests_total HTTP requests answered, by method, route pattern and status.",
      "# TYPE landform_http_requests_total counter",
    ];
    for (const s of all) {
      for (const [status, n] of s.counts)
        lines.push(`landform_http_requests_total{${s.labels},status="${status}"} ${n}`);
    }
    lines.push(
      "# HELP landform_http_request_duration_seconds Time to answer an HTTP request, by method and route pattern.",
      "# TYPE landform_http_request_duration_seconds histogram",
    );
    for (const s of all) {
      if (s.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        cumulative += s.buckets[i] as number;
        lines.push(
          `landform_http_request_duration_seconds_bucket{${s.labels},le="${DURATION_BUCKETS[i]}"} ${cumulative}`,
        );
      }
      lines.push(`landform_http_request_duration_seconds_bucket{${s.labels},le="+Inf"} ${s.count}`);
      lines.push(`landform_http_request_duration_seconds_sum{${s.labels}} ${s.sum}`);
      lines.push(`landform_http_request_duration_seconds_count{${s.labels}} ${s.count}`);
    }
    lines.push(
      "# HELP landform_managed_services Managed services known to the control plane, by state.",
      "# TYPE landform_managed_services gauge",
    );
    for (const [state, n] of Object.entries(byState)) {
      lines.push(`landform_managed_services{state="${escapeLabel(state)}"} ${n}`);
    }
    lines.push(
      "# HELP landform_reconcile_total Reconcile attempts, by outcome.",
      "# TYPE landform_reconcile_total counter",
    );
    for (const [outcome, n] of Object.entries(stats.reconcileOutcomes())) {
      lines.push(`landform_reconcile_total{outcome="${escapeLabel(outcome)}"} ${n}`);
    }
    lines.push(...(stats.extraMetrics?.() ?? []));
    // Process gauges under the names Prometheus' client libraries use, so dashboards and alerts carry over.
    lines.push(
      "# HELP process_resident_memory_bytes Resident memory size in bytes.",
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
      "# HELP nodejs_heap_size_used_bytes V8 heap in use, in bytes.",
      "# TYPE nodejs_heap_size_used_bytes gauge",
      `nodejs_heap_size_used_bytes ${process.memoryUsage().heapUsed}`,
    );
    return `${lines.join("\n")}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}
