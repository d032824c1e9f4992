/**
 * TypeScript text for the parts every binding class shares: member types,
 * the conversions to Terraform JSON and to cdktf's HCL records, the members
 * (getter, setter, `reset*`, `*Input`, `put*`) and the nested structs
 * (props interface, converters, `*OutputReference`, `*List`). The core
 * library is imported as `cdk`, so the same text compiles against cdktf and
 * cdktn.
 */
import { isAssignable, type Kind, type Member, type Struct } from "./model";

const lowerFirst = (s: string): string => s[0]!.toLowerCase() + s.slice(1);
const SCALAR_TYPE = { string: "string", number: "number", bool: "boolean | cdk.IResolvable" } as const;
const SCALAR_CONV = { string: "string", number: "number", bool: "boolean" } as const;

/** The type a user writes (props, setters). */
export function inputType(k: Kind): string {
  switch (k.kind) {
    case "string":
    case "number":
    case "bool":
      return SCALAR_TYPE[k.kind];
    case "dynamic":
      return "{ [key: string]: any }";
    case "map":
      return `{ [key: string]: ${k.of === "bool" ? "boolean | cdk.IResolvable" : k.of} }`;
    case "object":
      return k.struct.name;
    case "list":
      throw new Error(`cdk bindings: a list of ${k.struct.name} cannot be set`);
  }
}

/** `value` as Terraform JSON. */
export function toTerraform(k: Kind, value: string): string {
  switch (k.kind) {
    case "string":
    case "number":
    case "bool":
      return `cdk.${SCALAR_CONV[k.kind]}ToTerraform(${value})`;
    case "dynamic":
      return `cdk.hashMapper(cdk.anyToTerraform)(${value})`;
    case "map":
      return `cdk.hashMapper(cdk.${SCALAR_CONV[k.of]}ToTerraform)(${value})`;
    case "object":
      return `${lowerFirst(k.struct.name)}ToTerraform(${value})`;
    case "list":
      throw new Error(`cdk bindings: a list of ${k.struct.name} cannot be set`);
  }
}

/**
 * `value` as the record `synth --hcl` renders. A nested attribute renders as
 * `name = { ... }` (an object value): rendered as a block (`name { ... }`),
 * which is what bindings from `cdktf get` do, Terraform rejects it.
 */
export function toHcl(k: Kind, value: string, nestedAttribute: boolean): string {
  const rec = (v: string, type: string, storage: string, isBlock = false) =>
    `{ value: ${v}, isBlock: ${isBlock}, type: "${type}", storageClassType: "${storage}" }`;
  switch (k.kind) {
    case "string":
    case "number":
    case "bool":
      return rec(`cdk.${SCALAR_CONV[k.kind]}ToHclTerraform(${value})`, "simple", SCALAR_CONV[k.kind]);
    case "dynamic":
      return rec(`cdk.hashMapperHcl(cdk.anyToHclTerraform)(${value})`, "map", "anyMap");
    case "map":
      return rec(
        `cdk.hashMapperHcl(cdk.${SCALAR_CONV[k.of]}ToHclTerraform)(${value})`,
        "map",
        `${SCALAR_CONV[k.of]}Map`,
      );
    case "object":
      return nestedAttribute
        ? rec(`${lowerFirst(k.struct.name)}ToTerraform(${value})`, "any", k.struct.name)
        : rec(`${lowerFirst(k.struct.name)}ToHclTerraform(${value})`, "struct", k.struct.name, true);
    case "list":
      throw new Error(`cdk bindings: a list of ${k.struct.name} cannot be set`);
  }
}

const GETTER = { string: "String", number: "Number", bool: "Boolean" } as const;

/** The JSDoc of a member: its schema description. */
export function doc(text: string, indent = "  "): string {
  const lines = (text || "(no description in the schema)").split("\n");
  return [
    `${indent}/**`,
    ...lines.map((l) => `${indent} * ${l.replaceAll("*/", "*\\/")}`),
    `${indent} */`,
  ].join("\n");
}

/**
 * The members of a resource, data source or struct class: reads go through
 * the attribute's reference (a token), writes to a private field.
 */
export function memberText(m: Member, inStruct: boolean): string {
  const field = `_${m.camel}`;
  const cap = m.camel[0]!.toUpperCase() + m.camel.slice(1);
  const out = [`  // ${m.name}: ${m.required ? "required" : m.optional ? "optional" : "read only"}`];
  const k = m.type;
  const reset = m.required ? [] : [`  public reset${cap}() {`, `    this.${field} = undefined;`, "  }"];
  if (k.kind === "object" || k.kind === "list") {
    const ref = k.kind === "list" ? `${k.struct.name}List` : `${k.struct.name}OutputReference`;
    const args = k.kind === "list" ? `this, "${m.name}", false` : `this, "${m.name}"`;
    out.push(`  private ${field} = new ${ref}(${args});`, doc(m.description));
    out.push(`  public get ${m.camel}() {`, `    return this.${field};`, "  }");
    if (isAssignable(m) && k.kind === "object") {
      if (inStruct)
        throw new Error(`cdk bindings: ${m.name}: settable objects inside objects are not supported`);
      out.push(
        `  public put${cap}(value: ${k.struct.name}) {`,
        `    this.${field}.internalValue = value;`,
        "  }",
      );
      if (!m.required) {
        out.push(`  public reset${cap}() {`, `    this.${field}.internalValue = undefined;`, "  }");
      }
      out.push(`  public get ${m.camel}Input() {`, `    return this.${field}.internalValue;`, "  }");
    }
    return out.join("\n");
  }
  const read =
    k.kind === "dynamic"
      ? { get: "getAnyMapAttribute", map: "AnyMap" }
      : k.kind === "map"
        ? { get: `get${GETTER[k.of]}MapAttribute`, map: `${GETTER[k.of]}Map` }
        : { get: `get${GETTER[k.kind]}Attribute`, map: undefined };
  if (!isAssignable(m)) {
    if (read.map) {
      out.push(`  private ${field} = new cdk.${read.map}(this, "${m.name}");`, doc(m.description));
      out.push(`  public get ${m.camel}() {`, `    return this.${field};`, "  }");
    } else {
      out.push(
        doc(m.description),
        `  public get ${m.camel}() {`,
        `    return this.${read.get}("${m.name}");`,
        "  }",
      );
    }
    return out.join("\n");
  }
  const t = inputType(k);
  out.push(`  private ${field}?: ${t};`, doc(m.description));
  out.push(`  public get ${m.camel}() {`, `    return this.${read.get}("${m.name}");`, "  }");
  out.push(`  public set ${m.camel}(value: ${t}) {`, `    this.${field} = value;`, "  }", ...reset);
  out.push(`  public get ${m.camel}Input() {`, `    return this.${field};`, "  }");
  return out.join("\n");
}

/** A struct: its props interface, converters, output reference and (in a list) list class. */
export function structText(s: Struct): string {
  const fn = lowerFirst(s.name);
  const settable = s.members.filter(isAssignable);
  const arg = s.assignable ? `${s.name} | cdk.IResolvable` : s.name;
  const guard = [
    "  if (!cdk.canInspect(struct) || cdk.Tokenization.isResolvable(struct)) return struct;",
    "  if (cdk.isComplexElement(struct)) {",
    '    throw new Error("A reference to a complex object cannot be used as its configuration");',
    "  }",
  ];
  const lines = [
    `export interface ${s.name} {`,
    ...settable.flatMap((m) => [
      doc(m.description),
      `  readonly ${m.camel}${m.required ? "" : "?"}: ${inputType(m.type)};`,
    ]),
    "}",
    "",
    `export function ${fn}ToTerraform(struct?: ${arg}): any {`,
    ...guard,
    "  return {",
    ...settable.map((m) => `    ${m.name}: ${toTerraform(m.type, `struct!.${m.camel}`)},`),
    "  };",
    "}",
    "",
    `export function ${fn}ToHclTerraform(struct?: ${arg}): any {`,
    ...guard,
    "  const attrs: Record<string, { value: unknown; [key: string]: unknown }> = {",
    ...settable.map((m) => `    ${m.name}: ${toHcl(m.type, `struct!.${m.camel}`, !m.block)},`),
    "  };",
    "  return Object.fromEntries(Object.entries(attrs).filter(([, v]) => v.value !== undefined));",
    "}",
    "",
    `export class ${s.name}OutputReference extends cdk.ComplexObject {`,
    "  private isEmptyObject = false;",
    ...(s.assignable ? ["  private resolvableValue?: cdk.IResolvable;"] : []),
    "",
    s.inList
      ? [
          "  public constructor(",
          "    terraformResource: cdk.IInterpolatingParent,",
          "    terraformAttribute: string,",
          "    complexObjectIndex: number,",
          "    complexObjectIsFromSet: boolean,",
          "  ) {",
          "    super(terraformResource, terraformAttribute, complexObjectIsFromSet, complexObjectIndex);",
          "  }",
        ].join("\n")
      : [
          "  public constructor(terraformResource: cdk.IInterpolatingParent, terraformAttribute: string) {",
          "    super(terraformResource, terraformAttribute, false);",
          "  }",
        ].join("\n"),
    "",
    `  public get internalValue(): ${arg} | undefined {`,
    ...(s.assignable ? ["    if (this.resolvableValue) return this.resolvableValue;"] : []),
    "    let hasAnyValues = this.isEmptyObject;",
    "    const result: any = {};",
    ...settable.flatMap((m) => [
      `    if (this._${m.camel} !== undefined) {`,
      "      hasAnyValues = true;",
      `      result.${m.camel} = this._${m.camel};`,
      "    }",
    ]),
    "    return hasAnyValues ? result : undefined;",
    "  }",
    "",
    `  public set internalValue(value: ${arg} | undefined) {`,
    "    if (value === undefined) {",
    "      this.isEmptyObject = false;",
    ...(s.assignable ? ["      this.resolvableValue = undefined;"] : []),
    ...settable.map((m) => `      this._${m.camel} = undefined;`),
    ...(s.assignable
      ? [
          "    } else if (cdk.Tokenization.isResolvable(value)) {",
          "      this.isEmptyObject = false;",
          "      this.resolvableValue = value;",
        ]
      : []),
    "    } else {",
    "      this.isEmptyObject = Object.keys(value).length === 0;",
    ...(s.assignable ? ["      this.resolvableValue = undefined;"] : []),
    ...settable.map((m) => `      this._${m.camel} = value.${m.camel};`),
    "    }",
    "  }",
    "",
    s.members.map((m) => memberText(m, true)).join("\n\n"),
    "}",
  ];
  if (s.inList) {
    lines.push(
      "",
      `export class ${s.name}List extends cdk.ComplexList {`,
      "  constructor(",
      "    protected override terraformResource: cdk.IInterpolatingParent,",
      "    protected override terraformAttribute: string,",
      "    protected override wrapsSet: boolean,",
      "  ) {",
      "    super(terraformResource, terraformAttribute, wrapsSet);",
      "  }",
      "",
      "  /** The element at `index`. */",
      `  public get(index: number): ${s.name}OutputReference {`,
      `    return new ${s.name}OutputReference(this.terraformResource, this.terraformAttribute, index, this.wrapsSet);`,
      "  }",
      "}",
    );
  }
  return lines.join("\n");
}
