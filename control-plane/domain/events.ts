/**
 * Service events in the contract's log-record shape. The last 20 ride along in
 * the record (`recentEvents`); every event also goes to the full, paged log.
 * Bodies and attributes are written by the control plane from fixed phrases
 * and backend error messages, never from secrets.
 *
 * The full log is bounded: the store keeps at most 1,000 events per service
 * and none older than 30 days (store/event-log.ts).
 */
import type * as schemas from "../../sdk/schemas";
import type { ServiceRecord } from "../store/store";

/** Where the event goes besides the record: the store, or a step's buffer written with its record. */
export interface EventSink {
  addEvent(serviceId: string, event: schemas.LogRecord): void | Promise<void>;
}

export const RECENT_EVENTS = 20;

/**
 * Events of work in progress, per service, held back to be written in the
 * same transaction as the record they describe (a reconcile step's).
 */
export class PendingEvents implements EventSink {
  private readonly byService = new Map<string, schemas.LogRecord[]>();

  addEvent(serviceId: string, event: schemas.LogRecord): void {
    const list = this.byService.get(serviceId);
    if (list) list.push(event);
    else this.byService.set(serviceId, [event]);
  }
  /**
   * The service's held events, no longer held: write them inside the record's
   * transaction (and again in the next one if that rolls back).
   */
  take(serviceId: string): schemas.LogRecord[] {
    const list = this.byService.get(serviceId) ?? [];
    this.byService.delete(serviceId);
    return list;
  }
  drop(serviceId: string): void {
    this.byService.delete(serviceId);
  }
}

/** OpenTelemetry severity numbers. */
export const Severity = { info: 9, warn: 13, error: 17 } as const;

export function recordEvent(
  store: EventSink,
  record: ServiceRecord,
  now: number,
  eventName: string,
  body: string,
  severity: keyof typeof Severity = "info",
  attributes: Record<string, string> = {},
): void | Promise<void> {
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
  return store.addEvent(record.id, event);
}
