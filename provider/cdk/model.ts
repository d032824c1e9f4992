/**
 * The binding model: a schema (as `terraform providers schema -json` prints
 * it) turned into the names and kinds the CDK bindings use, by the rules of
 * the bindings `cdktf get` / `cdktn get` generate: a class per resource
 * named from its type without the provider prefix (`codesphere_managed_service`
 * -> `ManagedService`), data sources with a `Data` prefix and the whole type
 * (`codesphere_providers` -> `DataCodesphereProviders`), camelCase members,
 * and a struct per nested object named after its path (`ManagedServiceTimeouts`).
 * Types the generator has no rule for fail the build instead of producing
 * a loose binding.
 */
import type { CtyType } from "../terraform/values";
import type { AttributeJson, BlockJson } from "./schema-json";

export type Scalar = "string" | "number" | "bool";

export type Kind =
  | { kind: Scalar }
  /** `dynamic`: any JSON object (config, secrets, details). */
  | { kind: "dynamic" }
  | { kind: "map"; of: Scalar }
  /** A single nested object: a nested attribute, a block, or an object value. */
  | { kind: "object"; struct: Struct }
  /** A list of objects (computed only). */
  | { kind: "list"; struct: Struct };

export interface Member {
  /** The Terraform name, e.g. `plan_id`. */
  name: string;
  /** The binding's name, e.g. `planId`. */
  camel: string;
  type: Kind;
  required: boolean;
  optional: boolean;
  computed: boolean;
  /** A nested block (`timeouts { ... }`) rather than an attribute. */
  block: boolean;
  description: string;
}

export interface Struct {
  /** e.g. `ManagedServiceBackups`. */
  name: string;
  members: Member[];
  /** The user sets it (a nested attribute or block), rather than only reading it. */
  assignable: boolean;
  /** An element of a list: referenced by index. */
  inList: boolean;
}

export const pascal = (snake: string): string =>
  snake
    .split(/[_-]/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join("");
export const camel = (snake: string): string => {
  const p = pascal(snake);
  return p[0]!.toLowerCase() + p.slice(1);
};
export const kebab = (snake: string): string => snake.replaceAll("_", "-");

/**
 * Member names the construct base classes own (meta-arguments and construct
 * internals); the generated bindings rename such attributes. None of ours
 * clash: if one ever does, the build stops here rather than shadowing them.
 */
const RESERVED = new Set([
  "node",
  "provider",
  "count",
  "dependsOn",
  "forEach",
  "lifecycle",
  "connection",
  "provisioners",
  "fqn",
  "friendlyUniqueId",
  "terraformResourceType",
  "terraformMetaArguments",
  "rawOverrides",
]);

/** All of these the user may set; `computed` alone means read only. */
export const isAssignable = (m: Member): boolean => m.required || m.optional;

function kindOf(t: CtyType, structName: string, where: string): Kind {
  if (t === "string" || t === "number" || t === "bool") return { kind: t };
  if (t === "dynamic") return { kind: "dynamic" };
  if (Array.isArray(t) && t[0] === "map" && typeof t[1] === "string" && t[1] !== "dynamic") {
    return { kind: "map", of: t[1] };
  }
  if (Array.isArray(t) && t[0] === "object") {
    return { kind: "object", struct: valueStruct(t[1], structName, false) };
  }
  if (Array.isArray(t) && t[0] === "list" && Array.isArray(t[1]) && t[1][0] === "object") {
    return { kind: "list", struct: valueStruct(t[1][1] as Record<string, CtyType>, structName, true) };
  }
  throw new Error(
    `cdk bindings: ${where} has type ${JSON.stringify(t)}, which the generator has no rule for`,
  );
}

/** The struct of an object value (read only: every member computed). */
function valueStruct(attrs: Record<string, CtyType>, name: string, inList: boolean): Struct {
  return {
    name,
    assignable: false,
    inList,
    members: Object.entries(attrs).map(([key, t]) =>
      member(key, kindOf(t, name + pascal(key), `${name}.${key}`), {
        computed: true,
      }),
    ),
  };
}

function member(
  name: string,
  type: Kind,
  flags: {
    required?: boolean;
    optional?: boolean;
    computed?: boolean;
    description?: string;
    block?: boolean;
  },
): Member {
  const c = camel(name);
  if (RESERVED.has(c))
    throw new Error(`cdk bindings: attribute ${name} clashes with the construct's own ${c}`);
  return {
    name,
    camel: c,
    type,
    required: flags.required === true,
    optional: flags.optional === true,
    computed: flags.computed === true,
    block: flags.block === true,
    description: flags.description ?? "",
  };
}

function attributeMember(key: string, a: AttributeJson, owner: string): Member {
  const structName = owner + pascal(key);
  const type: Kind = a.nested_type
    ? {
        kind: "object",
        struct: {
          name: structName,
          assignable: a.required === true || a.optional === true,
          inList: false,
          members: Object.entries(a.nested_type.attributes).map(([k, n]) =>
            attributeMember(k, n, structName),
          ),
        },
      }
    : kindOf(a.type!, structName, `${owner}.${key}`);
  return member(key, type, a);
}

/** The members of a block (attributes, then nested blocks), in the schema's (sorted) order. */
export function blockMembers(block: BlockJson, owner: string): Member[] {
  const members = Object.entries(block.attributes ?? {}).map(([k, a]) => attributeMember(k, a, owner));
  for (const [k, b] of Object.entries(block.block_types ?? {})) {
    const name = owner + pascal(k);
    members.push(
      member(
        k,
        {
          kind: "object",
          struct: { name, assignable: true, inList: false, members: blockMembers(b.block, name) },
        },
        { optional: true, block: true, description: b.block.description ?? `${k} block` },
      ),
    );
  }
  return members.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every struct reachable from the members, innermost first (the order they are declared in). */
export function structsOf(members: Member[]): Struct[] {
  const out: Struct[] = [];
  const walk = (ms: Member[]) => {
    for (const m of ms) {
      if (m.type.kind === "object" || m.type.kind === "list") {
        walk(m.type.struct.members);
        out.push(m.type.struct);
      }
    }
  };
  walk(members);
  return out;
}
