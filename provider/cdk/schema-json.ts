/**
 * The provider's schema in the form `terraform providers schema -json`
 * prints, taken straight from the tables the plugin serves
 * (provider/terraform/*): the input of the CDK binding generator, so the
 * tables are the one source of attribute names, types and docs. A test holds
 * this to what the real terraform prints for the real plugin.
 */
import { CATALOG_SCHEMA, CATALOG_TYPE_NAME } from "../terraform/catalog-data-source";
import { MANAGED_SERVICE_SCHEMA, TYPE_NAME } from "../terraform/managed-service";
import { PROVIDER_SCHEMA } from "../terraform/provider";
import type { AttributeSpec, BlockSpec, SchemaSpec } from "../terraform/schema";
import type { CtyType } from "../terraform/values";

export interface AttributeJson {
  type?: CtyType;
  nested_type?: { attributes: Record<string, AttributeJson>; nesting_mode: "single" };
  description?: string;
  description_kind?: "markdown";
  required?: true;
  optional?: true;
  computed?: true;
  sensitive?: true;
  write_only?: true;
}

export interface BlockJson {
  attributes?: Record<string, AttributeJson>;
  block_types?: Record<string, { nesting_mode: "single"; block: BlockJson }>;
  description?: string;
  description_kind: "markdown";
}

export interface SchemaJson {
  version: number;
  block: BlockJson;
}

export interface ProviderSchemaJson {
  provider: SchemaJson;
  resource_schemas: Record<string, SchemaJson>;
  data_source_schemas: Record<string, SchemaJson>;
}

/** Terraform prints object keys sorted (they are Go maps); so do we, so the output compares equal. */
function sorted<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function ctyJson(t: CtyType): CtyType {
  if (typeof t === "string") return t;
  if (t[0] === "object") return ["object", sorted(Object.entries(t[1]).map(([k, v]) => [k, ctyJson(v)]))];
  if (t[0] === "tuple") return ["tuple", t[1].map(ctyJson)];
  return [t[0], ctyJson(t[1])];
}

function attributeJson(a: AttributeSpec): AttributeJson {
  return {
    ...(a.nested
      ? { nested_type: { attributes: attributesJson(a.nested), nesting_mode: "single" as const } }
      : { type: ctyJson(a.type!) }),
    ...(a.description ? { description: a.description, description_kind: "markdown" as const } : {}),
    ...(a.required ? { required: true as const } : {}),
    ...(a.optional ? { optional: true as const } : {}),
    ...(a.computed ? { computed: true as const } : {}),
    ...(a.sensitive ? { sensitive: true as const } : {}),
    ...(a.writeOnly ? { write_only: true as const } : {}),
  };
}

function attributesJson(attributes: AttributeSpec[]): Record<string, AttributeJson> {
  return sorted(attributes.map((a) => [a.name, attributeJson(a)]));
}

function blockJson(block: BlockSpec): BlockJson {
  return {
    ...(block.attributes.length > 0 ? { attributes: attributesJson(block.attributes) } : {}),
    ...(block.blocks?.length
      ? {
          block_types: sorted(
            block.blocks.map((b) => [b.name, { nesting_mode: "single" as const, block: blockJson(b.block) }]),
          ),
        }
      : {}),
    ...(block.description ? { description: block.description } : {}),
    description_kind: "markdown",
  };
}

const schemaJson = (s: SchemaSpec): SchemaJson => ({ version: s.version, block: blockJson(s.block) });

/** Every schema the plugin serves (provider/terraform/main.ts registers the same handlers). */
export function providerSchemaJson(): ProviderSchemaJson {
  return {
    provider: schemaJson(PROVIDER_SCHEMA),
    resource_schemas: sorted([[TYPE_NAME, schemaJson(MANAGED_SERVICE_SCHEMA)]]),
    data_source_schemas: sorted([[CATALOG_TYPE_NAME, schemaJson(CATALOG_SCHEMA)]]),
  };
}
