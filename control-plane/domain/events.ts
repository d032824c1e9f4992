/**
 * Service events in the contract's log-record shape. The last 20 ride along in
 * the record (`recentEvents`); every event also goes to the full, paged log.
 * Bodies and attributes are written by the control plane from fixed phrases
 * and backend error messages, never from secrets.
 */
import type * as schemas from "../../sdk/schemas";
import type { ServiceRecord, Store } from "../store/store";

export const RECENT_EVENTS = 20;

/** OpenTelemetry severity numbers. */
export const Severity = { info: 9, warn: 13, error: 17 } as const;

export function recordEvent(
  store: Store,
  record: ServiceRecord,
  now: number,
  eventName: string,
  body: string,
  severity: keyof typeof Severity = "info",
  attributes: Record<string, string> = {},
): schemas.LogRecord {
  const timestamp = new Date(now).toISOString();
  const event: schemas.LogRecord = {
    eventName,
    timestamp,
    observedTimestamp: timestamp,
    severityNumber: Severity[severity],
    body,
    resource: `managed-service/${record.id}`,
    attributes: { state: record.state, ...attributes },
  };
  record.recentEvents = [...record.recentEvents, event].slice(-RECENT_EVENTS);
  store.addEvent(record.id, event);
  return event;
}
