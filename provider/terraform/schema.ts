/**
 * Schemas as tables: each attribute carries its own flags next to it
 * (required, computed, sensitive, write-only), as terraform-plugin-framework
 * resources do. From a table come both the protocol's `Schema` message and
 * the object type values are encoded with.
 */
import { NestingMode, StringKind } from "./protocol";
import type { CtyType } from "./values";

export interface AttributeSpec {
  name: string;
  description: string;
  /** The value type; omit for a nested attribute (see `nested`). */
  type?: CtyType;
  /** A single nested object of attributes (protocol 6 nested attributes). */
  nested?: AttributeSpec[];
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  sensitive?: boolean;
  /** Never stored in plan or state (Terraform 1.11+); see docs/terraform.md. */
  writeOnly?: boolean;
}

export interface BlockSpec {
  description?: string;
  attributes: AttributeSpec[];
  /** Nested blocks with nesting SINGLE (for example `timeouts`). */
  blocks?: { name: string; block: BlockSpec }[];
}

export interface SchemaSpec {
  version: number;
  block: BlockSpec;
}

// biome-ignore lint/suspicious/noExplicitAny: protocol messages are plain objects
type ProtoMessage = Record<string, any>;

function attributeType(a: AttributeSpec): CtyType {
  if (a.nested) return objectType(a.nested);
  if (!a.type) throw new Error(`schema: attribute ${a.name} has neither type nor nested attributes`);
  return a.type;
}

function objectType(attributes: AttributeSpec[]): CtyType {
  const attrs: Record<string, CtyType> = {};
  for (const a of attributes) attrs[a.name] = attributeType(a);
  return ["object", attrs];
}

/** The object type of a block's values. */
export function impliedType(block: BlockSpec): CtyType {
  const attrs: Record<string, CtyType> = {};
  for (const a of block.attributes) attrs[a.name] = attributeType(a);
  for (const b of block.blocks ?? []) attrs[b.name] = impliedType(b.block);
  return ["object", attrs];
}

function protoAttribute(a: AttributeSpec): ProtoMessage {
  return {
    name: a.name,
    ...(a.nested
      ? { nestedType: { attributes: a.nested.map(protoAttribute), nesting: NestingMode.SINGLE } }
      : { type: Buffer.from(JSON.stringify(a.type)) }),
    description: a.description,
    descriptionKind: StringKind.MARKDOWN,
    required: a.required ?? false,
    optional: a.optional ?? false,
    computed: a.computed ?? false,
    sensitive: a.sensitive ?? false,
    writeOnly: a.writeOnly ?? false,
  };
}

function protoBlock(block: BlockSpec, version: number): ProtoMessage {
  return {
    version,
    attributes: block.attributes.map(protoAttribute),
    blockTypes: (block.blocks ?? []).map((b) => ({
      typeName: b.name,
      block: protoBlock(b.block, 0),
      nesting: NestingMode.SINGLE,
    })),
    description: block.description ?? "",
    descriptionKind: StringKind.MARKDOWN,
  };
}

/** The protocol's `Schema` message for a table. */
export function protoSchema(spec: SchemaSpec): ProtoMessage {
  return { version: spec.version, block: protoBlock(spec.block, spec.version) };
}

/** Attribute paths (top-level names, and `parent.child` for nested ones) of write-only attributes. */
export function writeOnlyPaths(block: BlockSpec): string[][] {
  const out: string[][] = [];
  const walk = (attrs: AttributeSpec[], prefix: string[]) => {
    for (const a of attrs) {
      if (a.writeOnly) out.push([...prefix, a.name]);
      if (a.nested) walk(a.nested, [...prefix, a.name]);
    }
  };
  walk(block.attributes, []);
  return out;
}
