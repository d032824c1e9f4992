/**
 * TypeScript text of one binding module: the construct class of a resource,
 * data source or the provider, with its `<Name>Config` props and the structs
 * it uses.
 */
import { doc, inputType, memberText, structText, toHcl, toTerraform } from "./emit-struct";
import type { BindingOptions } from "./generate";
import { blockMembers, isAssignable, type Member, structsOf } from "./model";
import type { SchemaJson } from "./schema-json";

const META = ["provider", "dependsOn", "count", "lifecycle", "provisioners", "connection", "forEach"];

function configInterface(name: string, settable: Member[], base: string): string {
  const ext = base ? ` extends ${base}` : "";
  return [
    `export interface ${name}${ext} {`,
    ...settable.flatMap((m) => [
      doc(m.description),
      `  readonly ${m.camel}${m.required ? "" : "?"}: ${inputType(m.type)};`,
    ]),
    "}",
  ].join("\n");
}

function synthesize(settable: Member[]): string {
  const value = (m: Member) =>
    m.type.kind === "object" ? `this._${m.camel}.internalValue` : `this._${m.camel}`;
  return [
    "  protected override synthesizeAttributes(): { [name: string]: any } {",
    "    return {",
    ...settable.map((m) => `      ${m.name}: ${toTerraform(m.type, value(m))},`),
    "    };",
    "  }",
    "",
    "  protected override synthesizeHclAttributes(): { [name: string]: any } {",
    "    const attrs: Record<string, { value: unknown; [key: string]: unknown }> = {",
    ...settable.map((m) => `      ${m.name}: ${toHcl(m.type, value(m), !m.block)},`),
    "    };",
    "    return Object.fromEntries(Object.entries(attrs).filter(([, v]) => v.value !== undefined));",
    "  }",
  ].join("\n");
}

function metadata(o: BindingOptions): string {
  return `{ providerName: "${o.providerName}", providerVersionConstraint: "${o.versionConstraint}" }`;
}

export function emitClassFile(c: {
  kind: "resource" | "data";
  type: string;
  className: string;
  schema: SchemaJson;
  options: BindingOptions;
}): string {
  const members = blockMembers(c.schema.block, c.className);
  const settable = members.filter(isAssignable);
  const configName = `${c.className}Config`;
  const optionalConfig = settable.every((m) => !m.required) ? " = {}" : "";
  const base = c.kind === "resource" ? "TerraformResource" : "TerraformDataSource";
  return [
    configInterface(configName, settable, "cdk.TerraformMetaArguments"),
    "",
    ...structsOf(members).flatMap((s) => [structText(s), ""]),
    doc(c.schema.block.description ?? c.type, ""),
    `export class ${c.className} extends cdk.${base} {`,
    `  public static readonly tfResourceType = "${c.type}";`,
    "",
    "  /** Declares an import of the existing object `importFromId` (see `cdktf plan`). */",
    "  public static generateConfigForImport(",
    "    scope: Construct,",
    "    importToId: string,",
    "    importFromId: string,",
    "    provider?: cdk.TerraformProvider,",
    "  ) {",
    "    return new cdk.ImportableResource(scope, importToId, {",
    `      terraformResourceType: "${c.type}",`,
    "      importId: importFromId,",
    "      provider,",
    "    });",
    "  }",
    "",
    `  public constructor(scope: Construct, id: string, config: ${configName}${optionalConfig}) {`,
    "    super(scope, id, {",
    `      terraformResourceType: "${c.type}",`,
    `      terraformGeneratorMetadata: ${metadata(c.options)},`,
    ...META.map((k) => `      ${k}: config.${k},`),
    "    });",
    ...settable.map((m) =>
      m.type.kind === "object"
        ? `    this._${m.camel}.internalValue = config.${m.camel};`
        : `    this._${m.camel} = config.${m.camel};`,
    ),
    "  }",
    "",
    members.map((m) => memberText(m, false)).join("\n\n"),
    "",
    synthesize(settable),
    "}",
    "",
  ].join("\n");
}

/** The provider: every attribute set by the user, read back as set (there is no provider state). */
export function emitProviderFile(className: string, schema: SchemaJson, o: BindingOptions): string {
  const members: Member[] = [
    ...blockMembers(schema.block, className),
    {
      name: "alias",
      camel: "alias",
      type: { kind: "string" },
      required: false,
      optional: true,
      computed: false,
      block: false,
      description: "Alias, to use several configurations (teams, platforms) in one stack.",
    },
  ];
  const accessors = members.map((m) => {
    const t = inputType(m.type);
    const cap = m.camel[0]!.toUpperCase() + m.camel.slice(1);
    // `alias` is an accessor of TerraformProvider itself.
    const override = m.camel === "alias" ? "override " : "";
    return [
      `  private _${m.camel}?: ${t};`,
      doc(m.description),
      `  public ${override}get ${m.camel}() {`,
      `    return this._${m.camel};`,
      "  }",
      `  public ${override}set ${m.camel}(value: ${t} | undefined) {`,
      `    this._${m.camel} = value;`,
      "  }",
      `  public reset${cap}() {`,
      `    this._${m.camel} = undefined;`,
      "  }",
      `  public get ${m.camel}Input() {`,
      `    return this._${m.camel};`,
      "  }",
    ].join("\n");
  });
  return [
    configInterface(`${className}Config`, members, ""),
    "",
    doc(schema.block.description ?? className, ""),
    `export class ${className} extends cdk.TerraformProvider {`,
    `  public static readonly tfResourceType = "${o.providerName}";`,
    "",
    "  /** Declares an import (see `cdktf plan`); providers have nothing to import, as in every generated binding. */",
    "  public static generateConfigForImport(",
    "    scope: Construct,",
    "    importToId: string,",
    "    importFromId: string,",
    "    provider?: cdk.TerraformProvider,",
    "  ) {",
    "    return new cdk.ImportableResource(scope, importToId, {",
    `      terraformResourceType: "${o.providerName}",`,
    "      importId: importFromId,",
    "      provider,",
    "    });",
    "  }",
    "",
    `  public constructor(scope: Construct, id: string, config: ${className}Config = {}) {`,
    "    super(scope, id, {",
    `      terraformResourceType: "${o.providerName}",`,
    `      terraformGeneratorMetadata: ${metadata(o)},`,
    `      terraformProviderSource: "${o.source}",`,
    "    });",
    ...members.map((m) => `    this._${m.camel} = config.${m.camel};`),
    "  }",
    "",
    accessors.join("\n\n"),
    "",
    synthesize(members),
    "}",
    "",
  ].join("\n");
}
