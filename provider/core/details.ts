/**
 * Which connection details are secret. The catalog's details schemas do not
 * mark credentials, so the rule is by name (dsn, password, secret, token,
 * credential, key) plus any property the schema marks `writeOnly` or
 * `x-sensitive`: better one secret too many in an output than a leaked DSN.
 */

import { propertiesOf } from "../../sdk/catalog-keywords";
import type * as schemas from "../../sdk/schemas";

const SECRET_NAME = /(^dsn$|dsn$|password|passwd|secret|token|credential|private|(^|[_-])key$|Key$)/i;

export function isSecretDetail(key: string, detailsSchema?: Record<string, unknown>): boolean {
  const schema = propertiesOf(detailsSchema)[key];
  return SECRET_NAME.test(key) || schema?.writeOnly === true || schema?.["x-sensitive"] === true;
}

/** The details split into what may be shown and what must stay secret. */
export function splitDetails(
  details: schemas.ManagedService["details"],
  detailsSchema?: Record<string, unknown>,
): { plain: Record<string, unknown>; secret: Record<string, unknown> } {
  const plain: Record<string, unknown> = {};
  const secret: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details ?? {})) {
    if (isSecretDetail(key, detailsSchema)) secret[key] = value;
    else plain[key] = value;
  }
  return { plain, secret };
}
