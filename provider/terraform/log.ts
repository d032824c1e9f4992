/**
 * Logging to standard error as hclog JSON lines, which Terraform parses and
 * shows under TF_LOG (its parser needs exactly six fractional digits in
 * `@timestamp`). Standard output carries only the handshake line.
 */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(
    `${JSON.stringify({ "@level": level, "@message": message, "@module": "landform", "@timestamp": timestamp(), ...fields })}\n`,
  );
}
