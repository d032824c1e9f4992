/**
 * Logging to standard error as hclog JSON lines, which Terraform parses and
 * shows under TF_LOG (its parser needs exactly six fractional digits in
 * `@timestamp`). Standard output carries only the handshake line.
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

const threshold = thresholdOf(process.env);

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Whether lines of `level` are written: callers check it before building costly fields. */
export function logs(level: Level): boolean {
  return RANK[level] >= threshold;
}

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (!logs(level)) return;
  process.stderr.write(
    `${JSON.stringify({ "@level": level, "@message": message, "@module": "landform", "@timestamp": timestamp(), ...fields })}\n`,
  );
}
