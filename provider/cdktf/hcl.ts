/** The attribute records cdktf's `synth --hcl` renders (what generated bindings produce). */
export type HclAttribute =
  | { value: unknown; type: "simple"; storageClassType: "string" | "number" | "boolean" }
  | { value: unknown; type: "map"; storageClassType: string }
  | { value: unknown; type: "struct"; isBlock: true; storageClassType: string };

export const hclString = (value: string | undefined): HclAttribute => ({
  value,
  type: "simple",
  storageClassType: "string",
});
export const hclNumber = (value: number | undefined): HclAttribute => ({
  value,
  type: "simple",
  storageClassType: "number",
});
export const hclBoolean = (value: boolean | undefined): HclAttribute => ({
  value,
  type: "simple",
  storageClassType: "boolean",
});
/** An object value (a map, a dynamic value, a nested attribute): keys and nested values keep their types. */
export const hclObject = (value: object | undefined): HclAttribute => ({
  value,
  type: "map",
  storageClassType: "anyMap",
});
export const hclBlock = (value: object | undefined): HclAttribute => ({
  value,
  type: "struct",
  isBlock: true,
  storageClassType: "struct",
});

/** Drops undefined entries, so unset attributes are left out of the synthesized JSON. */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Drops records whose value is undefined. */
export function definedHcl(o: Record<string, HclAttribute>): Record<string, HclAttribute> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v.value !== undefined));
}
