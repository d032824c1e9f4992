/**
 * The service table: live status (polled), a filter, and "Show recently
 * deleted", which adds soft-deleted services until their retention ends.
 * Rows are plain table rows: 2,000 of them render and filter well within a
 * second (test/console.test.ts measures it).
 */
import { useMemo, useState } from "preact/hooks";
import type { Api, ManagedService } from "./api";
import { keptUntil, StatusBadge, stateLabel } from "./status";
import { useAsync, when } from "./util";

const POLL_MS = 2_000;

const count = (n: number) => `${n} ${n === 1 ? "service" : "services"}`;

function matches(s: ManagedService, needle: string): boolean {
  if (!needle) return true;
  return (
    s.name.toLowerCase().includes(needle) ||
    s.provider.name.toLowerCase().includes(needle) ||
    stateLabel(s.status.state).toLowerCase().includes(needle)
  );
}

export function ServicesPage(props: { api: Api }) {
  const [showDeleted, setShowDeleted] = useState(false);
  const [filter, setFilter] = useState("");
  const list = useAsync(() => props.api.services(showDeleted), [showDeleted], POLL_MS);
  const providers = useAsync(() => props.api.providers(), []);
  const planNames = useMemo(() => {
    const names = new Map<string, string>();
    for (const p of providers.value ?? [])
      for (const plan of p.plans) names.set(`${p.name}/${p.version}/${plan.id}`, plan.name);
    return names;
  }, [providers.value]);
  const needle = filter.trim().toLowerCase();
  const rows = useMemo(() => (list.value ?? []).filter((s) => matches(s, needle)), [list.value, needle]);

  return (
    <section aria-labelledby="services-title">
      <div class="page-head">
        <h1 id="services-title">Managed Services</h1>
        <a class="button" href="#/catalog">
          New service
        </a>
      </div>
      <div class="toolbar">
        <div class="field inline">
          <label for="services-filter">Filter services</label>
          <input
            id="services-filter"
            type="search"
            placeholder="name, provider or status"
            value={filter}
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </div>
        <div class="field inline check">
          <input
            id="show-deleted"
            type="checkbox"
            checked={showDeleted}
            onChange={(e) => setShowDeleted(e.currentTarget.checked)}
          />
          <label for="show-deleted">Show recently deleted</label>
        </div>
      </div>
      {list.error && (
        <p role="alert" class="error">
          {list.error}
        </p>
      )}
      {!list.value ? (
        <p aria-busy="true">Loading services…</p>
      ) : (
        <table class="services">
          <caption>
            <span aria-live="polite">
              {rows.length === list.value.length
                ? count(rows.length)
                : `${rows.length} of ${count(list.value.length)}`}
            </span>
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Provider</th>
              <th scope="col">Plan</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              {showDeleted && <th scope="col">Kept until</th>}
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.id} data-service={s.name}>
                <td>
                  <a href={`#/services/${s.id}`}>{s.name}</a>
                </td>
                <td>{`${s.provider.name} ${s.provider.version}`}</td>
                <td>{planNames.get(`${s.provider.name}/${s.provider.version}/${s.plan.id}`) ?? s.plan.id}</td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
                <td>{when(s.createdAt)}</td>
                {showDeleted && <td>{keptUntil(s)?.toLocaleString() ?? ""}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
