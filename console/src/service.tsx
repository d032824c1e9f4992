import { Fragment } from "preact";
/**
 * One service: its status (polled), pause and resume where the provider can,
 * and tabs for the overview, the events log, the configuration (with Edit
 * Configuration) and backups; deletion is confirmed by typing the name.
 */
import { useState } from "preact/hooks";
import type { Api, ManagedService } from "./api";
import { DeleteDialog } from "./delete-dialog";
import { BackupsTab, ConfigurationTab, EventsTab } from "./service-tabs";
import { keptUntil, StatusBadge } from "./status";
import { navigate, useAsync, when } from "./util";

const POLL_MS = 1_500;
const TABS = [
  ["overview", "Overview"],
  ["events", "Events"],
  ["configuration", "Configuration"],
  ["backups", "Backups"],
] as const;

export function ServicePage(props: { api: Api; id: string; tab: string }) {
  const { api, id } = props;
  const service = useAsync(() => api.service(id), [id], POLL_MS);
  const providers = useAsync(() => api.providers(), []);
  const [message, setMessage] = useState<string>();
  const [deleting, setDeleting] = useState(false);
  const s = service.value;
  if (service.error && !s) return <p role="alert">{service.error}</p>;
  if (!s) return <p aria-busy="true">Loading…</p>;
  const provider = providers.value?.find(
    (p) => p.name === s.provider.name && p.version === s.provider.version,
  );
  const gone = s.status.state === "deleted" || s.status.state === "deleting";
  const tab = TABS.some(([t]) => t === props.tab) ? props.tab : "overview";

  const act = async (what: string, run: () => Promise<unknown>) => {
    setMessage(undefined);
    try {
      await run();
      setMessage(what);
      service.reload();
    } catch (err) {
      setMessage(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section aria-labelledby="service-title">
      <p>
        <a href="#/services">← Managed Services</a>
      </p>
      <div class="page-head">
        <h1 id="service-title">{s.name}</h1>
        <StatusBadge status={s.status} />
        <span class="spacer" />
        {provider?.capabilities?.pause && !gone && (
          <button
            type="button"
            class="secondary"
            onClick={() =>
              act(s.pause ? "Resume requested." : "Pause requested.", () =>
                api.update(id, { pause: !s.pause }),
              )
            }
          >
            {s.pause ? "Resume" : "Pause"}
          </button>
        )}
        {!gone && (
          <button type="button" class="danger" onClick={() => setDeleting(true)}>
            Delete
          </button>
        )}
      </div>
      <p class="muted">
        {`${provider?.displayName ?? s.provider.name} ${s.provider.version} · created ${when(s.createdAt)} · id ${s.id}`}
        {gone && keptUntil(s) ? ` · kept until ${when(keptUntil(s)?.toISOString())}` : ""}
      </p>
      <p role="status" class="message">
        {message ?? ""}
      </p>
      <div role="tablist" aria-label="Service" class="tabs">
        {TABS.map(([t, label]) => (
          <a
            key={t}
            role="tab"
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls="tab-panel"
            href={`#/services/${id}/${t}`}
          >
            {label}
          </a>
        ))}
      </div>
      <div role="tabpanel" id="tab-panel" aria-labelledby={`tab-${tab}`} class="panel">
        {tab === "overview" && <Overview service={s} />}
        {tab === "events" && <EventsTab api={api} id={id} />}
        {tab === "configuration" && (
          <ConfigurationTab
            api={api}
            service={s}
            provider={provider}
            onSaved={() => {
              setMessage("Configuration update requested.");
              service.reload();
            }}
          />
        )}
        {tab === "backups" && <BackupsTab api={api} service={s} onChange={service.reload} />}
      </div>
      {deleting && (
        <DeleteDialog
          name={s.name}
          onCancel={() => setDeleting(false)}
          onConfirm={async () => {
            await api.remove(id);
            setDeleting(false);
            navigate("#/services");
          }}
        />
      )}
    </section>
  );
}

/** What the backend reports for connecting (never a secret: the API returns none). */
function Overview(props: { service: ManagedService }) {
  const details = Object.entries(props.service.details ?? {}).filter(([, v]) => typeof v !== "object");
  const plan = props.service.plan;
  return (
    <dl class="facts">
      <dt>Plan</dt>
      <dd>
        {`${plan.id}`}
        {Object.entries(plan.parameters).map(([k, v]) => ` · ${k} ${v}`)}
      </dd>
      <dt>Paused</dt>
      <dd>{props.service.pause ? "yes" : "no"}</dd>
      {details.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>{String(v)}</dd>
        </Fragment>
      ))}
    </dl>
  );
}
