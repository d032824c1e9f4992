/**
 * Form fields generated from a provider's JSON Schema (config, secrets, plan
 * parameters, backup store): one labelled input per property, required ones
 * marked, defaults filled in, the description as help and the
 * `x-update-constraint` rule spelled out. In edit mode only fields that may
 * change after create are enabled.
 */
import { constraintOf, propertiesOf, type UpdateConstraint } from "../../sdk/catalog-keywords";

type JsonSchema = Record<string, unknown>;
/** What the inputs hold: text as typed, checkboxes as booleans. */
export type RawValues = Record<string, string | boolean>;

const RULES: Record<UpdateConstraint, string> = {
  immutable: "Cannot be changed after creation.",
  "increase-only": "Can only be increased after creation.",
  "minor-upgrade-only": "After creation only upgrades to a newer minor version of the same major.",
};

export function ruleText(schema: JsonSchema): string | undefined {
  const c = constraintOf(schema);
  return c ? RULES[c] : undefined;
}

function requiredOf(schema: JsonSchema): Set<string> {
  return new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
}

/** Set by the plan or the provider, never chosen. */
export const isFixed = (p: JsonSchema) => p.readOnly === true || p.const !== undefined;

/** Whether a property may be changed on an existing service. */
export function updatable(p: JsonSchema): boolean {
  return !isFixed(p) && constraintOf(p) !== "immutable";
}

/** The inputs' starting values: the current ones when editing, else the schema's defaults. */
export function initialValues(schema: JsonSchema, current: Record<string, unknown> = {}): RawValues {
  const out: RawValues = {};
  for (const [key, p] of Object.entries(propertiesOf(schema))) {
    const v = current[key] ?? p.const ?? p.default;
    if (p.type === "boolean") out[key] = v === true;
    else out[key] = v === undefined || v === null ? "" : String(v);
  }
  return out;
}

/** The typed values to send: numbers as numbers, empty optional fields left out. */
export function typedValues(schema: JsonSchema, raw: RawValues): Record<string, unknown> {
  const required = requiredOf(schema);
  const out: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(propertiesOf(schema))) {
    const v = raw[key];
    if (typeof v === "boolean") out[key] = v;
    else if (v === undefined || v === "") {
      if (required.has(key)) out[key] = "";
    } else if (p.type === "integer" || p.type === "number") out[key] = Number(v);
    else out[key] = v;
  }
  return out;
}

function isSecretInput(p: JsonSchema, secret: boolean): boolean {
  return secret || p.writeOnly === true || p.format === "password";
}

export function SchemaFields(props: {
  schema: JsonSchema;
  values: RawValues;
  onInput: (values: RawValues) => void;
  /** Makes ids unique across several forms of one page. */
  idPrefix: string;
  /** Secret inputs: type=password, never filled from anything but typing. */
  secret?: boolean;
  mode?: "create" | "edit";
}) {
  const { schema, values, onInput, idPrefix, secret = false, mode = "create" } = props;
  const required = requiredOf(schema);
  const entries = Object.entries(propertiesOf(schema));
  if (entries.length === 0) return <p class="muted">Nothing to set here.</p>;
  return (
    <>
      {entries.map(([key, p]) => {
        const id = `${idPrefix}-${key}`;
        const helpId = `${id}-help`;
        const help = [typeof p.description === "string" ? p.description : "", ruleText(p) ?? ""]
          .filter(Boolean)
          .join(" ");
        const disabled = mode === "edit" ? !updatable(p) : isFixed(p);
        const label = typeof p.title === "string" ? p.title : key;
        const set = (v: string | boolean) => onInput({ ...values, [key]: v });
        const common = {
          id,
          name: key,
          disabled,
          required: required.has(key),
          "aria-describedby": help ? helpId : undefined,
        };
        const value = values[key];
        let input: preact.JSX.Element;
        if (p.type === "boolean") {
          input = (
            <input
              {...common}
              type="checkbox"
              checked={value === true}
              onChange={(e) => set(e.currentTarget.checked)}
            />
          );
        } else if (Array.isArray(p.enum)) {
          input = (
            <select {...common} value={String(value ?? "")} onChange={(e) => set(e.currentTarget.value)}>
              {!required.has(key) && <option value="">(not set)</option>}
              {(p.enum as unknown[]).map((o) => (
                <option key={String(o)} value={String(o)}>
                  {String(o)}
                </option>
              ))}
            </select>
          );
        } else {
          const numeric = p.type === "integer" || p.type === "number";
          const text = {
            ...common,
            value: String(value ?? ""),
            onInput: (e: preact.TargetedEvent<HTMLInputElement>) => set(e.currentTarget.value),
          };
          input = isSecretInput(p, secret) ? (
            <input {...text} type="password" autocomplete="new-password" />
          ) : numeric ? (
            <input
              {...text}
              type="number"
              min={typeof p.minimum === "number" ? p.minimum : undefined}
              max={typeof p.maximum === "number" ? p.maximum : undefined}
              step={p.type === "integer" ? 1 : "any"}
            />
          ) : (
            <input {...text} type="text" autocomplete="off" />
          );
        }
        return (
          <div class={`field${p.type === "boolean" ? " check" : ""}`} key={key}>
            <label for={id}>
              {label}
              {required.has(key) && <span class="req"> (required)</span>}
            </label>
            {input}
            {help && (
              <p class="help" id={helpId}>
                {help}
              </p>
            )}
          </div>
        );
      })}
    </>
  );
}
