/**
 * Tolerant reading of closed sets in responses (service states, enums).
 *
 * A platform that adds a state (say `hibernating`) must not break every
 * client that polls it: a value this SDK does not know comes through as the
 * plain string it is, typed outside the known union (`Known | (string & {})`),
 * so code that compares against known values keeps working and an unknown one
 * simply matches none of them. Requests never use this: what we send stays
 * strict.
 *
 * Built as the known schema with a `catch` that lets an unknown-but-well-formed
 * value through, and a refinement that restores the original issues for
 * anything else (a known state missing its fields, a number where a string
 * belongs). Neither leaves a trace in the JSON Schema zod generates: the
 * published document, the served OpenAPI document and the contract test all
 * keep describing the known set.
 */
import { z } from "zod";

const UNREADABLE = Symbol("unreadable");
type Unreadable = { [UNREADABLE]: z.core.$ZodIssue[] };

function isUnreadable(value: unknown): value is Unreadable {
  return value !== null && typeof value === "object" && UNREADABLE in value;
}

/**
 * `known`, but a value `isNewer` accepts parses as itself instead of failing.
 * `isNewer` must refuse everything `known` describes, so a malformed known
 * value still fails with its own issues.
 */
export function tolerant<K extends z.ZodType, N>(
  known: K,
  isNewer: (value: unknown) => value is N,
): z.ZodType<z.output<K> | N, z.input<K>> {
  return known
    .catch((ctx) => {
      // JSON Schema generation asks for a catch value without a context; undefined adds no `default`.
      if (ctx === undefined) return undefined as never;
      const newer: unknown = isNewer(ctx.value) ? ctx.value : { [UNREADABLE]: ctx.error.issues };
      return newer as z.output<K>;
    })
    .superRefine((value, ctx) => {
      if (isUnreadable(value)) for (const issue of value[UNREADABLE]) ctx.addIssue(issue as never);
    }) as unknown as z.ZodType<z.output<K> | N, z.input<K>>;
}

/** A string outside a known set; `string & {}` keeps editors offering the known values. */
export type Newer = string & {};

/** An enum of `values` that reads any other string as itself. */
export function tolerantEnum<const T extends readonly [string, ...string[]]>(
  values: T,
): z.ZodType<T[number] | Newer, T[number]> {
  const known: readonly string[] = values;
  return tolerant(
    z.enum(values),
    (value): value is Newer => typeof value === "string" && !known.includes(value),
  );
}
