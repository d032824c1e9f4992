/**
 * Terraform values on the wire: MessagePack shaped by the attribute's type
 * (cty), with unknown values as extension type 0 (12 when Terraform adds
 * refinements) and `dynamic` values as a pair of [type as JSON, value].
 *
 * In JavaScript a value is null, `UNKNOWN`, a string, number or boolean, an
 * array (list, set, tuple) or a plain object (map, object). A value decoded
 * from a `dynamic` position remembers its exact type (see `typeOfDynamic`),
 * so it is sent back as the same type: Terraform compares values by type too.
 */
import { decode, ExtData, encode } from "@msgpack/msgpack";

export type CtyType =
  | "string"
  | "number"
  | "bool"
  | "dynamic"
  | ["list" | "set" | "map", CtyType]
  | ["object", Record<string, CtyType>]
  | ["object", Record<string, CtyType>, string[]]
  | ["tuple", CtyType[]];

/** A value not known until apply. */
export const UNKNOWN: unique symbol = Symbol.for("landform.terraform.unknown");
export type Unknown = typeof UNKNOWN;

export type TfValue = null | Unknown | string | number | boolean | TfValue[] | { [key: string]: TfValue };

export const isUnknown = (v: unknown): v is Unknown => v === UNKNOWN;

/** True when the value holds no unknown at any depth. */
export function isWhollyKnown(v: unknown): boolean {
  if (v === UNKNOWN) return false;
  if (Array.isArray(v)) return v.every(isWhollyKnown);
  if (v !== null && typeof v === "object") return Object.values(v).every(isWhollyKnown);
  return true;
}

const dynamicTypes = new WeakMap<object, CtyType>();

/** The exact type a value had in a dynamic position, else one inferred from its shape. */
export function typeOfDynamic(v: unknown): CtyType {
  if (v !== null && typeof v === "object") {
    const known = dynamicTypes.get(v);
    if (known) return known;
    if (Array.isArray(v)) return ["tuple", v.map(typeOfDynamic)];
    const attrs: Record<string, CtyType> = {};
    for (const [k, e] of Object.entries(v)) attrs[k] = typeOfDynamic(e);
    return ["object", attrs];
  }
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "number";
  if (typeof v === "boolean") return "bool";
  return "dynamic";
}

const UNKNOWN_EXT = new ExtData(0, new Uint8Array([0]));

// ---------------------------------------------------------------- decode

export function decodeValue(type: CtyType, bytes: Uint8Array | undefined): TfValue {
  if (!bytes || bytes.length === 0) return null;
  return shape(type, decode(bytes));
}

function shape(type: CtyType, raw: unknown): TfValue {
  if (raw instanceof ExtData) return UNKNOWN;
  if (raw === null || raw === undefined) return null;
  if (type === "dynamic") {
    const pair = raw as [Uint8Array | string, unknown];
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new Error("msgpack: a dynamic value must be [type, value]");
    const typeText = typeof pair[0] === "string" ? pair[0] : Buffer.from(pair[0]).toString("utf8");
    const actual = JSON.parse(typeText) as CtyType;
    const value = shape(actual, pair[1]);
    if (value !== null && typeof value === "object") dynamicTypes.set(value, actual);
    return value;
  }
  if (type === "string") return String(raw);
  if (type === "number") return typeof raw === "number" ? raw : Number(raw as string | bigint);
  if (type === "bool") return Boolean(raw);
  switch (type[0]) {
    case "list":
    case "set":
      return (raw as unknown[]).map((e) => shape(type[1], e));
    case "tuple":
      return (raw as unknown[]).map((e, i) => shape(type[1][i] ?? "dynamic", e));
    case "map": {
      const out: Record<string, TfValue> = {};
      for (const [k, e] of entries(raw)) out[k] = shape(type[1], e);
      return out;
    }
    case "object": {
      const out: Record<string, TfValue> = {};
      const attrs = type[1];
      const raws = new Map(entries(raw));
      for (const [k, t] of Object.entries(attrs)) out[k] = raws.has(k) ? shape(t, raws.get(k)) : null;
      return out;
    }
  }
}

function entries(raw: unknown): [string, unknown][] {
  if (raw instanceof Map) return [...raw.entries()].map(([k, v]) => [String(k), v]);
  return Object.entries(raw as Record<string, unknown>);
}

// ---------------------------------------------------------------- encode

export function encodeValue(type: CtyType, value: TfValue): Buffer {
  const bytes = encode(raw(type, value), { sortKeys: true });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function raw(type: CtyType, v: TfValue | undefined): unknown {
  if (type === "dynamic") {
    if (v === undefined || v === null) return null;
    if (v === UNKNOWN) return UNKNOWN_EXT;
    const actual = typeOfDynamic(v);
    return [Buffer.from(JSON.stringify(actual)), raw(actual, v)];
  }
  if (v === UNKNOWN) return UNKNOWN_EXT;
  if (v === undefined || v === null) return null;
  if (type === "string") return String(v);
  if (type === "number") return typeof v === "number" ? v : Number(v);
  if (type === "bool") return Boolean(v);
  switch (type[0]) {
    case "list":
    case "set":
      return (v as TfValue[]).map((e) => raw(type[1], e));
    case "tuple":
      return (v as TfValue[]).map((e, i) => raw(type[1][i] ?? "dynamic", e));
    case "map": {
      const out: Record<string, unknown> = {};
      for (const [k, e] of Object.entries(v as Record<string, TfValue>)) out[k] = raw(type[1], e);
      return out;
    }
    case "object": {
      const out: Record<string, unknown> = {};
      const obj = v as Record<string, TfValue>;
      for (const [k, t] of Object.entries(type[1])) out[k] = raw(t, obj[k] ?? null);
      return out;
    }
  }
}

/** Reads the JSON form Terraform uses for raw state (UpgradeResourceState), shaped by type. */
export function fromJson(type: CtyType, json: unknown): TfValue {
  if (json === null || json === undefined) return null;
  if (type === "dynamic") {
    // State JSON stores dynamic values as {value, type}.
    const wrapped = json as { value?: unknown; type?: CtyType };
    if (wrapped && typeof wrapped === "object" && "type" in wrapped && "value" in wrapped) {
      const value = fromJson(wrapped.type as CtyType, wrapped.value);
      if (value !== null && typeof value === "object") dynamicTypes.set(value, wrapped.type as CtyType);
      return value;
    }
    return json as TfValue;
  }
  if (type === "string" || type === "number" || type === "bool") return shape(type, json);
  switch (type[0]) {
    case "list":
    case "set":
      return (json as unknown[]).map((e) => fromJson(type[1], e));
    case "tuple":
      return (json as unknown[]).map((e, i) => fromJson(type[1][i] ?? "dynamic", e));
    case "map": {
      const out: Record<string, TfValue> = {};
      for (const [k, e] of Object.entries(json as Record<string, unknown>)) out[k] = fromJson(type[1], e);
      return out;
    }
    case "object": {
      const out: Record<string, TfValue> = {};
      const obj = json as Record<string, unknown>;
      for (const [k, t] of Object.entries(type[1])) out[k] = fromJson(t, obj[k]);
      return out;
    }
  }
}

/** Deep equality of two values (types of dynamic values included when both are known). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ta = dynamicTypes.get(a);
  const tb = dynamicTypes.get(b);
  if (ta && tb && JSON.stringify(ta) !== JSON.stringify(tb)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((e, i) => valuesEqual(e, bb[i]));
  }
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => valuesEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Marks `value` as having `type` when it is sent in a dynamic position (e.g. a value kept from prior state). */
export function withDynamicType<T extends TfValue>(value: T, type: CtyType | undefined): T {
  if (type && value !== null && typeof value === "object") dynamicTypes.set(value, type);
  return value;
}

export function dynamicTypeOf(value: unknown): CtyType | undefined {
  return value !== null && typeof value === "object" ? dynamicTypes.get(value) : undefined;
}
