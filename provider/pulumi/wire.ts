/**
 * Secrets on the wire between the dynamic provider and the engine. Dynamic
 * providers receive every value in plain text, so what must stay encrypted
 * in state goes back wrapped in Pulumi's secret envelope.
 */
import type * as schemas from "../../sdk/schemas";
import type { CreateIncompleteError } from "../core/lifecycle";
import { isUnknown, type ServiceInputs, type ServiceOutputs } from "./shapes";

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Wraps a value in Pulumi's secret envelope: the engine stores it encrypted. */
export function sealed(value: unknown): unknown {
  return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

export function unsealed(value: unknown): unknown {
  if (
    value &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  ) {
    return (value as { value: unknown }).value;
  }
  return value;
}

/** Checked inputs with every secret field sealed, so state never holds one in plain text. */
export function sealInputs(inputs: ServiceInputs): ServiceInputs {
  const out = structuredClone(inputs) as unknown as Record<string, unknown> & ServiceInputs;
  if (out.secrets && !isUnknown(out.secrets)) out.secrets = sealed(out.secrets) as schemas.Values;
  if (out.backups && !isUnknown(out.backups) && out.backups.secrets && !isUnknown(out.backups.secrets)) {
    out.backups.secrets = sealed(out.backups.secrets) as schemas.Values;
  }
  if (out.recoverFrom && !isUnknown(out.recoverFrom) && !isUnknown(out.recoverFrom.secrets)) {
    out.recoverFrom.secrets = sealed(out.recoverFrom.secrets) as schemas.Values;
  }
  if (out.__connection?.token !== undefined && !isUnknown(out.__connection.token)) {
    out.__connection.token = sealed(out.__connection.token) as string;
  }
  return out;
}

/**
 * An error the dynamic provider host turns into "created (or updated) but
 * failed to initialise": the engine records `id` and `properties` and shows
 * `reasons`, so the next run continues from this service.
 */
export function partialFailure(error: Error, properties: ServiceOutputs, id?: string): Error {
  const failure = new Error(error.message, { cause: error }) as Error & {
    id: string;
    properties: ServiceOutputs;
    reasons: string[];
  };
  failure.id = id ?? (error as CreateIncompleteError).service.id;
  failure.properties = properties;
  failure.reasons = [error.message];
  return failure;
}
