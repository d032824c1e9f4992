/**
 * How long each operation of a managed service may take, and the state it
 * settles in. Kept apart from ./lifecycle (which loads the SDK) so an engine
 * can check `timeouts` and plan states without loading the API client: the
 * Terraform plugin starts a process for every phase of a run.
 */

export interface Deadlines {
  createMs: number;
  updateMs: number;
  deleteMs: number;
}

export const DEFAULT_DEADLINES: Readonly<Deadlines> = {
  createMs: 20 * 60_000,
  updateMs: 20 * 60_000,
  deleteMs: 10 * 60_000,
};

/** Per-resource overrides, as durations: `"30m"`, `"1h30m"`, `"90s"`, `"500ms"`. */
export interface Timeouts {
  create?: string;
  update?: string;
  delete?: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration (`20m`, `1h30m`, `45s`); throws naming the accepted form. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < trimmed.length) {
    re.lastIndex = at;
    const m = re.exec(trimmed);
    if (!m) break;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = re.lastIndex;
  }
  if (trimmed === "" || at !== trimmed.length || !(total > 0)) {
    throw new Error(`"${text}" is not a duration (use e.g. "30m", "1h30m", "90s")`);
  }
  return total;
}

export function deadlinesFrom(timeouts: Timeouts | undefined): Deadlines {
  return {
    createMs: timeouts?.create ? parseDuration(timeouts.create) : DEFAULT_DEADLINES.createMs,
    updateMs: timeouts?.update ? parseDuration(timeouts.update) : DEFAULT_DEADLINES.updateMs,
    deleteMs: timeouts?.delete ? parseDuration(timeouts.delete) : DEFAULT_DEADLINES.deleteMs,
  };
}

/** The state a service settles in after an operation: paused when asked to pause, else synchronized. */
export function settledState(pause: boolean): "paused" | "synchronized" {
  return pause ? "paused" : "synchronized";
}
