/** Diagnostics as the protocol carries them, and the error type that becomes one. */
import { Severity } from "./protocol";

export interface Diagnostic {
  severity: number;
  summary: string;
  detail?: string;
  attribute?: { steps: { attributeName?: string; elementKeyString?: string; elementKeyInt?: number }[] };
}

/** A path into a value: attribute names, and map keys as `["key", k]`. */
export type PathStep = string | ["key", string];

export function attributePath(path: PathStep[]): NonNullable<Diagnostic["attribute"]> {
  return {
    steps: path.map((s) => (typeof s === "string" ? { attributeName: s } : { elementKeyString: s[1] })),
  };
}

export function errorDiagnostic(summary: string, detail?: string, path?: PathStep[]): Diagnostic {
  return {
    severity: Severity.ERROR,
    summary,
    ...(detail ? { detail } : {}),
    ...(path ? { attribute: attributePath(path) } : {}),
  };
}

export function warningDiagnostic(summary: string, detail?: string, path?: PathStep[]): Diagnostic {
  return { ...errorDiagnostic(summary, detail, path), severity: Severity.WARNING };
}

/** Thrown inside a handler to answer with these diagnostics instead of a gRPC error. */
export class DiagnosticsError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => d.summary).join("; "));
  }
}

export function fail(summary: string, detail?: string, path?: PathStep[]): never {
  throw new DiagnosticsError([errorDiagnostic(summary, detail, path)]);
}
