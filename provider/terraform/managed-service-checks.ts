/**
 * What `codesphere_managed_service` checks of a configuration on its own,
 * before any API call (ValidateResourceConfig): names, shapes, durations,
 * and the combinations the API would refuse.
 */
import { parseDuration } from "../core/deadlines";
import { type Diagnostic, errorDiagnostic } from "./diagnostics";
import { obj } from "./managed-service-values";
import type { TfObject } from "./provider";
import { isWhollyKnown, UNKNOWN } from "./values";

/** Milliseconds of a `timeouts` entry, or undefined when it is not a duration. */
export function durationMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** Diagnostics for a configuration (values not known yet are left alone). */
export function validateConfig(config: TfObject): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const name = config.name;
  if (typeof name === "string" && !/^(?!\s)[a-zA-Z0-9\-_\s]{0,126}[a-zA-Z0-9\-_]$/.test(name)) {
    diagnostics.push(
      errorDiagnostic("Invalid name", "name must be 1 to 127 letters, digits, '-', '_' or inner spaces", [
        "name",
      ]),
    );
  }
  const providerName = config.provider_name;
  if (typeof providerName === "string" && !/^[a-z0-9-_]+$/.test(providerName)) {
    diagnostics.push(
      errorDiagnostic("Invalid provider_name", "must be lowercase letters, digits, '-' or '_'", [
        "provider_name",
      ]),
    );
  }
  for (const key of ["config", "secrets"] as const) {
    const v = config[key];
    if (v !== null && v !== UNKNOWN && (typeof v !== "object" || Array.isArray(v))) {
      diagnostics.push(errorDiagnostic(`Invalid ${key}`, `${key} must be an object of settings`, [key]));
    }
  }
  const timeouts = obj(config.timeouts);
  for (const op of ["create", "update", "delete"] as const) {
    const t = timeouts?.[op];
    if (typeof t === "string" && durationMs(t) === undefined) {
      diagnostics.push(
        errorDiagnostic(`Invalid timeouts.${op}`, `expected a duration like 30s, 20m or 1h, got "${t}"`, [
          "timeouts",
          op,
        ]),
      );
    }
  }
  const recover = obj(config.recover_from);
  if (recover && isWhollyKnown(recover.backup_id) && isWhollyKnown(recover.service_id)) {
    const byBackup = recover.backup_id !== null;
    const byTime = recover.service_id !== null || recover.time !== null;
    if (byBackup === byTime) {
      diagnostics.push(
        errorDiagnostic(
          "Invalid recover_from",
          "set either backup_id, or service_id and time (point-in-time recovery)",
          ["recover_from"],
        ),
      );
    }
  }
  const backups = obj(config.backups);
  if (backups?.enabled === true) {
    for (const key of ["config", "secrets"] as const) {
      if (backups[key] === null) {
        diagnostics.push(
          errorDiagnostic(`Missing backups.${key}`, `backups.${key} is required when backups are enabled`, [
            "backups",
            key,
          ]),
        );
      }
    }
  }
  return diagnostics;
}
