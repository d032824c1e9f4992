/**
 * The catalog (what a team can set up) and the setup flow: a configuration
 * step generated from the provider's schemas, a secrets step, then create.
 */
import { useState } from "preact/hooks";
import { propertiesOf } from "../../sdk/catalog-keywords";
import type { Api, Provider, Session } from "./api";
import { ErrorNote, FormActions } from "./form-parts";
import { initialValues, isFixed, type RawValues, SchemaFields, typedValues } from "./schema-form";
import { navigate, useAsync } from "./util";

type JsonSchema = Record<string, unknown>;
type Plan = Provider["plans"][number];

const capabilityNames: Record<string, string> = {
  pause: "Pause",
  backups: "Backups",
  pointInTimeRecovery: "Point-in-time recovery",
};

export function CatalogPage(props: { api: Api }) {
  const providers = useAsync(() => props.api.providers(), []);
  if (providers.error) return <p role="alert">{providers.error}</p>;
  if (!providers.value) return <p aria-busy="true">Loading the catalog…</p>;
  return (
    <section aria-labelledby="catalog-title">
      <h1 id="catalog-title">Catalog</h1>
      <p class="muted">Pick a provider to set up a managed service.</p>
      <ul class="cards">
        {providers.value.map((p) => {
          const caps = Object.entries(p.capabilities ?? {}).filter(([, on]) => on);
          return (
            <li class="card" key={`${p.name}/${p.version}`} aria-labelledby={`p-${p.name}-${p.version}`}>
              <div class="card-head">
                {p.iconUrl && <img src={p.iconUrl} alt="" width={40} height={40} />}
                <div>
                  <h2 id={`p-${p.name}-${p.version}`}>{p.displayName}</h2>
                  <span class="tag">{p.category}</span> <span class="muted">{`${p.name} ${p.version}`}</span>
                </div>
              </div>
              <p>{p.description}</p>
              {caps.length > 0 && (
                <p class="caps">
                  {caps.map(([c]) => (
                    <span class="tag" key={c}>
                      {capabilityNames[c] ?? c}
                    </span>
                  ))}
                </p>
              )}
              <p class="muted">Plans: {p.plans.map((plan) => plan.name).join(", ")}</p>
              <a
                class="button"
                href={`#/setup/${encodeURIComponent(p.name)}/${encodeURIComponent(p.version)}`}
              >
                Set up {p.displayName}
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** A plan's parameters as one object schema, so the same form generator shows them. */
function planSchema(plan: Plan | undefined): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [k, p] of Object.entries(plan?.parameters ?? {})) properties[k] = p.schema;
  return { type: "object", properties };
}

/** Only the parameters the user chooses are sent; the plan fixes the others. */
function chosenParameters(plan: Plan | undefined, raw: RawValues): Record<string, number> {
  const schema = planSchema(plan);
  const typed = typedValues(schema, raw);
  const out: Record<string, number> = {};
  for (const [k, p] of Object.entries(propertiesOf(schema))) {
    if (!isFixed(p) && typeof typed[k] === "number") out[k] = typed[k] as number;
  }
  return out;
}

export function SetupPage(props: { api: Api; session: Session; name: string; version: string }) {
  const providers = useAsync(() => props.api.providers(), []);
  const provider = providers.value?.find((p) => p.name === props.name && p.version === props.version);
  if (providers.error) return <p role="alert">{providers.error}</p>;
  if (!providers.value) return <p aria-busy="true">Loading…</p>;
  if (!provider)
    return <p role="alert">No provider {`${props.name} ${props.version}`} in this team's catalog.</p>;
  return <SetupFlow {...props} provider={provider} />;
}

function SetupFlow(props: { api: Api; session: Session; provider: Provider }) {
  const { provider } = props;
  const firstPlan = provider.plans[0];
  const [step, setStep] = useState<1 | 2>(1);
  const [name, setName] = useState("");
  const [planId, setPlanId] = useState(firstPlan?.id ?? 0);
  const plan = provider.plans.find((p) => p.id === planId);
  const [params, setParams] = useState<RawValues>(() => initialValues(planSchema(firstPlan)));
  const [config, setConfig] = useState<RawValues>(() => initialValues(provider.configSchema));
  const [secrets, setSecrets] = useState<RawValues>({});
  const canBackUp = provider.capabilities?.backups === true && provider.backups !== undefined;
  const [backupsOn, setBackupsOn] = useState(false);
  const [backupSettings, setBackupSettings] = useState({ intervalH: "24", deleteRetentionDays: "7" });
  const [backupConfig, setBackupConfig] = useState<RawValues>(() =>
    initialValues(provider.backups?.configSchema ?? {}),
  );
  const [backupSecrets, setBackupSecrets] = useState<RawValues>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const made = await props.api.create({
        teamId: props.session.team,
        name,
        provider: { name: provider.name, version: provider.version },
        plan: { id: planId, parameters: chosenParameters(plan, params) },
        config: typedValues(provider.configSchema, config),
        secrets: typedValues(provider.secretsSchema, secrets),
        ...(backupsOn && provider.backups
          ? {
              backups: {
                enabled: true,
                intervalH: Number(backupSettings.intervalH),
                deleteRetentionDays: Number(backupSettings.deleteRetentionDays),
                config: typedValues(provider.backups.configSchema, backupConfig),
                secrets: typedValues(provider.backups.secretsSchema, backupSecrets),
              },
            }
          : {}),
      });
      // Secrets are shown nowhere after this: the inputs are emptied before leaving.
      setSecrets({});
      setBackupSecrets({});
      navigate(`#/services/${made.id}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="setup-title">
      <h1 id="setup-title">Set up {provider.displayName}</h1>
      <ol class="steps" aria-label="Steps">
        <li aria-current={step === 1 ? "step" : undefined}>Configuration</li>
        <li aria-current={step === 2 ? "step" : undefined}>Secrets</li>
      </ol>
      {step === 1 ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setStep(2);
          }}
        >
          <fieldset>
            <legend>Service</legend>
            <div class="field">
              <label for="setup-name">Name</label>
              <input
                id="setup-name"
                required
                value={name}
                pattern="[a-zA-Z0-9][a-zA-Z0-9._\-]*"
                aria-describedby="setup-name-help"
                onInput={(e) => setName(e.currentTarget.value)}
              />
              <p class="help" id="setup-name-help">
                Letters, digits, dots, dashes and underscores. Typed again to confirm a deletion.
              </p>
            </div>
            <div class="field">
              <label for="setup-plan">Plan</label>
              <select
                id="setup-plan"
                value={String(planId)}
                onChange={(e) => {
                  const id = Number(e.currentTarget.value);
                  setPlanId(id);
                  setParams(initialValues(planSchema(provider.plans.find((p) => p.id === id))));
                }}
              >
                {provider.plans.map((p) => (
                  <option key={p.id} value={String(p.id)}>{`${p.name} (${p.description})`}</option>
                ))}
              </select>
            </div>
            <SchemaFields schema={planSchema(plan)} values={params} onInput={setParams} idPrefix="plan" />
          </fieldset>
          <fieldset>
            <legend>Configuration</legend>
            <SchemaFields
              schema={provider.configSchema}
              values={config}
              onInput={setConfig}
              idPrefix="config"
            />
          </fieldset>
          {canBackUp && (
            <fieldset>
              <legend>Backups</legend>
              <div class="field check">
                <label for="backups-enabled">Enable backups</label>
                <input
                  id="backups-enabled"
                  type="checkbox"
                  checked={backupsOn}
                  onChange={(e) => setBackupsOn(e.currentTarget.checked)}
                />
              </div>
              {backupsOn && (
                <>
                  <div class="field">
                    <label for="backups-interval">Interval in hours</label>
                    <input
                      id="backups-interval"
                      type="number"
                      min={1}
                      max={730}
                      required
                      value={backupSettings.intervalH}
                      onInput={(e) =>
                        setBackupSettings({ ...backupSettings, intervalH: e.currentTarget.value })
                      }
                    />
                  </div>
                  <div class="field">
                    <label for="backups-retention">Retention in days</label>
                    <input
                      id="backups-retention"
                      type="number"
                      min={1}
                      max={365}
                      required
                      aria-describedby="backups-retention-help"
                      value={backupSettings.deleteRetentionDays}
                      onInput={(e) =>
                        setBackupSettings({ ...backupSettings, deleteRetentionDays: e.currentTarget.value })
                      }
                    />
                    <p class="help" id="backups-retention-help">
                      How long backups, and a deleted service, are kept.
                    </p>
                  </div>
                  <SchemaFields
                    schema={provider.backups?.configSchema ?? {}}
                    values={backupConfig}
                    onInput={setBackupConfig}
                    idPrefix="backup-config"
                  />
                </>
              )}
            </fieldset>
          )}
          <FormActions back={{ label: "Cancel", href: "#/catalog" }} submit="Next: secrets" />
        </form>
      ) : (
        <form onSubmit={create}>
          <fieldset>
            <legend>Secrets</legend>
            <p class="muted">
              Secrets go to the service once and are never shown again, here or through the API.
            </p>
            <SchemaFields
              schema={provider.secretsSchema}
              values={secrets}
              onInput={setSecrets}
              idPrefix="secret"
              secret
            />
            {backupsOn && provider.backups && (
              <SchemaFields
                schema={provider.backups.secretsSchema}
                values={backupSecrets}
                onInput={setBackupSecrets}
                idPrefix="backup-secret"
                secret
              />
            )}
          </fieldset>
          <ErrorNote error={error} />
          <FormActions
            back={{ label: "Back", onClick: () => setStep(1) }}
            submit="Create service"
            disabled={busy}
          />
        </form>
      )}
    </section>
  );
}
