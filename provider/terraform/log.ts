/**
 * Logging as hclog JSON lines, which Terraform parses and shows under
 * TF_LOG (its parser needs exactly six fractional digits in `@timestamp`).
 * A plugin process writes them to standard error (standard output carries
 * only the handshake line); a session of the resident provider writes them
 * to its launcher, which passes them on to Terraform (./resident).
 *
 * Lines below the level that TF_LOG_PROVIDER (else TF_LOG) asks for are not
 * written at all, as Go providers do: Terraform drops them anyway, and a
 * trace line per call was a measurable share of an apply's plugin time.
 */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

const RANK: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/** The lowest level written, from Terraform's variables: unset means warnings and errors only. */
export function thresholdOf(env: NodeJS.ProcessEnv): number {
  const wanted = (env.TF_LOG_PROVIDER || env.TF_LOG || "").trim().toLowerCase();
  if (wanted === "off") return Number.POSITIVE_INFINITY;
  if (wanted === "json") return RANK.trace;
  return wanted in RANK ? RANK[wanted as Level] : RANK.warn;
}

export interface Log {
  /** Whether lines of `level` are written: callers check it before building costly fields. */
  logs(level: Level): boolean;
  log(level: Level, message: string, fields?: Record<string, unknown>): void;
}

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A log at the level `env` asks for, writing each line with `write`. */
export function createLog(env: NodeJS.ProcessEnv, write: (line: string) => void): Log {
  const threshold = thresholdOf(env);
  const logs = (level: Level) => RANK[level] >= threshold;
  return {
    logs,
    log(level, message, fields = {}) {
      if (!logs(level)) return;
      write(
        `${JSON.stringify({ "@level": level, "@message": message, "@module": "landform", "@timestamp": timestamp(), ...fields })}\n`,
      );
    },
  };
}

let processLog: Log | undefined;

/** The plugin process's own log: standard error, at the level of its environment. */
export function stderrLog(): Log {
  processLog ??= createLog(process.env, (line) => process.stderr.write(line));
  return processLog;
}
