import { Fragment } from "preact";
/** The tabs of a service's page: events log, configuration (and editing it), backups. */
import { useState } from "preact/hooks";
import { propertiesOf } from "../../sdk/catalog-keywords";
import type { Api, EventPage, ManagedService, Provider } from "./api";
import { ErrorNote, FormActions } from "./form-parts";
import { initialValues, type RawValues, ruleText, SchemaFields, typedValues } from "./schema-form";
import { useAsync, when } from "./util";

type LogRecord = EventPage["events"][number];
const MAX_PAGES = 20;

async function allEvents(api: Api, id: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api.events(id, cursor);
    out.push(...page.events);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return out.reverse();
}

export function EventsTab(props: { api: Api; id: string }) {
  const events = useAsync(() => allEvents(props.api, props.id), [props.id], 3_000);
  if (events.error) return <p role="alert">{events.error}</p>;
  if (!events.value) return <p aria-busy="true">Loading events…</p>;
  return (
    <table class="events">
      <caption>Events, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Event</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {events.value.map((e, i) => (
          <tr
            key={`${e.timestamp}-${i}`}
            class={e.severityNumber >= 17 ? "sev-error" : e.severityNumber >= 13 ? "sev-warn" : ""}
          >
            <td>{when(e.timestamp)}</td>
            <td>{e.eventName}</td>
            <td>{e.body}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ConfigurationTab(props: {
  api: Api;
  service: ManagedService;
  provider: Provider | undefined;
  onSaved: () => void;
}) {
  const { service, provider } = props;
  const [editing, setEditing] = useState<RawValues>();
  const [error, setError] = useState<string>();
  const schema = provider?.configSchema ?? {};
  const props_ = propertiesOf(schema);
  const gone = service.status.state === "deleted" || service.status.state === "deleting";

  if (editing) {
    const save = async (e: Event) => {
      e.preventDefault();
      const typed = typedValues(schema, editing);
      const changed: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(typed))
        if (JSON.stringify(service.config[k]) !== JSON.stringify(v)) changed[k] = v;
      try {
        if (Object.keys(changed).length > 0) await props.api.update(service.id, { config: changed });
        setEditing(undefined);
        setError(undefined);
        props.onSaved();
      } catch (err) {
        setError(err instanceof Error ? err.message : String(err));
      }
    };
    return (
      <form onSubmit={save}>
        <fieldset>
          <legend>Edit Configuration</legend>
          <p class="muted">Fields that cannot change after creation are disabled.</p>
          <SchemaFields schema={schema} values={editing} onInput={setEditing} idPrefix="edit" mode="edit" />
        </fieldset>
        <ErrorNote error={error} />
        <FormActions
          back={{ label: "Cancel", onClick: () => setEditing(undefined) }}
          submit="Save configuration"
        />
      </form>
    );
  }
  const keys = [...new Set([...Object.keys(props_), ...Object.keys(service.config)])];
  return (
    <>
      <dl class="facts">
        {keys.map((k) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>
              {service.config[k] === undefined ? (
                <span class="muted">(not set)</span>
              ) : (
                String(service.config[k])
              )}
              {props_[k] && ruleText(props_[k]) && <span class="help"> {ruleText(props_[k])}</span>}
            </dd>
          </Fragment>
        ))}
      </dl>
      {provider && !gone && (
        <button type="button" onClick={() => setEditing(initialValues(schema, service.config))}>
          Edit Configuration
        </button>
      )}
    </>
  );
}

export function BackupsTab(props: { api: Api; service: ManagedService; onChange: () => void }) {
  const { service } = props;
  const [error, setError] = useState<string>();
  const b = service.backups;
  const gone = service.status.state === "deleted" || service.status.state === "deleting";
  return (
    <>
      {b.enabled ? (
        <p>{`Every ${b.intervalH} h, kept ${b.deleteRetentionDays} days.`}</p>
      ) : (
        <p class="muted">Backups are not enabled for this service.</p>
      )}
      {b.enabled && !gone && (
        <button
          type="button"
          onClick={() =>
            props.api.backUpNow(service.id).then(
              () => {
                setError(undefined);
                props.onChange();
              },
              (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
            )
          }
        >
          Back up now
        </button>
      )}
      <ErrorNote error={error} />
      <table class="backups">
        <caption>{`${b.entries.length} backups`}</caption>
        <thead>
          <tr>
            <th scope="col">Backup</th>
            <th scope="col">Scheduled</th>
            <th scope="col">Started</th>
            <th scope="col">Confirmed</th>
          </tr>
        </thead>
        <tbody>
          {[...b.entries].reverse().map((e) => (
            <tr key={e.id}>
              <td>
                <code>{e.id}</code>
              </td>
              <td>{when(e.scheduledAt)}</td>
              <td>{when(e.initiatedAt)}</td>
              <td>{e.confirmedAt ? when(e.confirmedAt) : "pending"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
