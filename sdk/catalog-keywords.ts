/**
 * What the provider catalog's vendor keywords mean, in one place for everyone
 * who reads a catalog entry: the control plane and the reference backends
 * (which enforce them) and the IaC providers (which plan replacements by them).
 *
 * `x-update-constraint` on a property's JSON Schema says how a value may
 * change after the service exists: `immutable` (never), `increase-only`
 * (numbers may only grow), `minor-upgrade-only` (versions like "16.6" may move
 * to a newer minor of the same major only).
 */

export const UPDATE_CONSTRAINTS = ["immutable", "increase-only", "minor-upgrade-only"] as const;
export type UpdateConstraint = (typeof UPDATE_CONSTRAINTS)[number];

type JsonSchema = Record<string, unknown>;

/** The `x-update-constraint` of a JSON Schema, if it carries one we know. */
export function constraintOf(schema: unknown): UpdateConstraint | undefined {
  const c = (schema as JsonSchema | undefined)?.["x-update-constraint"];
  return (UPDATE_CONSTRAINTS as readonly unknown[]).includes(c) ? (c as UpdateConstraint) : undefined;
}

/** The per-property sub-schemas of an object schema. */
export function propertiesOf(schema: unknown): Record<string, JsonSchema> {
  const props = (schema as JsonSchema | undefined)?.properties;
  return props && typeof props === "object" ? (props as Record<string, JsonSchema>) : {};
}

/** "16.6" -> [16, 6]; "v17" -> [17, 0]. */
export function majorMinor(v: unknown): [number, number] | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?/.exec(String(v));
  return m ? [Number(m[1]), Number(m[2] ?? 0)] : undefined;
}

/** How a change breaks a constraint, for messages. */
export type ConstraintBreach = "changed" | "decreased" | "not a minor upgrade";

/**
 * Whether changing `before` to `after` breaks `constraint`, and how; undefined
 * when the change is allowed (or there is no change).
 */
export function constraintBreach(
  constraint: UpdateConstraint | undefined,
  before: unknown,
  after: unknown,
): ConstraintBreach | undefined {
  if (!constraint || JSON.stringify(before) === JSON.stringify(after)) return undefined;
  switch (constraint) {
    case "immutable":
      return "changed";
    case "increase-only":
      return typeof before === "number" && typeof after === "number" && after < before
        ? "decreased"
        : undefined;
    case "minor-upgrade-only": {
      const a = majorMinor(before);
      const b = majorMinor(after);
      return !a || !b || a[0] !== b[0] || b[1] < a[1] ? "not a minor upgrade" : undefined;
    }
  }
}
