/**
 * `landform init pulumi|cdktf [DIR]`: a new TypeScript project from the
 * templates the package ships (templates/pulumi-typescript,
 * templates/cdktf-typescript), wired to a control plane: the files, then the
 * commands that install it, put the connection and the passwords where the
 * tool keeps secrets (Pulumi: `pulumi config set --secret`; CDKTF: sensitive
 * variables from TF_VAR_*), and deploy.
 *
 * The Pulumi template is also a `pulumi new` template (its Pulumi.yaml has a
 * `template:` section); init prints its path. Like `pulumi new`, init fills
 * in `${PROJECT}` and `${DESCRIPTION}` and drops that section.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { packageRoot } from "./tools";

export const TEMPLATES = {
  pulumi: "pulumi-typescript",
  cdktf: "cdktf-typescript",
} as const;
export type TemplateName = keyof typeof TEMPLATES;

export class InitError extends Error {}

export interface InitOptions {
  template: string;
  dir: string;
  apiUrl?: string;
  teamId?: number;
  /** The dependency spec of landform in package.json. Default: see landformSpec. */
  landform?: string;
  /** The landform package root (holds templates/). Default: this package. */
  root?: string;
}

export interface InitResult {
  dir: string;
  project: string;
  files: string[];
  /** The shell commands that install, wire and deploy the project, one a line. */
  next: string[];
  /** The template folder, for `pulumi new`. */
  templateDir: string;
}

/** npm refuses to pack a file named .gitignore, so the templates ship it without the dot. */
const RENAMED: Record<string, string> = { gitignore: ".gitignore" };

/**
 * The published version (`^0.1.0`) when this package was installed from the
 * registry; a `file:` dependency on this checkout when it runs from one, since
 * a checkout's version is not on the registry.
 */
export function landformSpec(root: string): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
  return root.split(path.sep).includes("node_modules") ? `^${pkg.version}` : `file:${root}`;
}

/** A project name Pulumi, npm and the catalog's service names all accept: lower case, digits, '-'. */
export function projectName(dir: string): string {
  const name = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50);
  return name || "landform-app";
}

function templateName(name: string): TemplateName {
  if (Object.hasOwn(TEMPLATES, name)) return name as TemplateName;
  throw new InitError(`unknown template "${name}": choose one of ${Object.keys(TEMPLATES).join(", ")}`);
}

/** Pulumi.yaml without its `template:` section (it runs to the end of the file), as `pulumi new` leaves it. */
function withoutTemplateSection(text: string): string {
  const at = text.search(/^# What `pulumi new|^template:/m);
  return at < 0 ? text : `${text.slice(0, at).trimEnd()}\n`;
}

export function init(options: InitOptions): InitResult {
  const template = templateName(options.template);
  const root = options.root ?? packageRoot();
  const templateDir = path.join(root, "templates", TEMPLATES[template]);
  const dir = path.resolve(options.dir);
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new InitError(`${dir} exists and is not a directory`);
    const present = fs.readdirSync(dir);
    if (present.length > 0) {
      const shown = present.slice(0, 5).join(", ") + (present.length > 5 ? ", ..." : "");
      throw new InitError(`${dir} is not empty (${shown}): choose a new or empty directory`);
    }
  }
  const project = projectName(dir);
  // No ": " in it: Pulumi.yaml holds it unquoted, as pulumi new writes it.
  const description = "Codesphere managed services as code, made with landform init";
  const apiUrl = options.apiUrl ?? "http://127.0.0.1:8080/api";
  const teamId = options.teamId ?? 1;
  const landform = options.landform ?? landformSpec(root);

  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const name of fs.readdirSync(templateDir).sort()) {
    let text = fs.readFileSync(path.join(templateDir, name), "utf8");
    // The placeholders `pulumi new` fills in (the same in both templates).
    text = text.replace(/\$\{PROJECT\}/g, project).replace(/\$\{DESCRIPTION\}/g, description);
    if (name === "Pulumi.yaml") text = withoutTemplateSection(text);
    if (name === "package.json") {
      const pkg = JSON.parse(text) as { dependencies: Record<string, string> };
      pkg.dependencies.landform = landform;
      text = `${JSON.stringify(pkg, null, 2)}\n`;
    }
    const target = RENAMED[name] ?? name;
    fs.writeFileSync(path.join(dir, target), text);
    files.push(target);
  }

  const cd = path.relative(process.cwd(), dir) || ".";
  const secret = '"$(openssl rand -hex 16)"';
  const next =
    template === "pulumi"
      ? [
          `cd ${cd}`,
          "npm install",
          'export PATH="$(npx landform tools --path):$PATH"   # the Pulumi CLI, unless you have one',
          "pulumi login --local",
          "pulumi stack init dev",
          `pulumi config set codesphere:apiUrl ${apiUrl}`,
          `pulumi config set codesphere:teamId ${teamId}`,
          'pulumi config set --secret codesphere:token "$CS_TOKEN"',
          `pulumi config set --secret dbPassword ${secret}`,
          `pulumi config set --secret dbSuperuserPassword ${secret}`,
          `pulumi config set --secret cachePassword ${secret}`,
          "pulumi up",
        ]
      : [
          `cd ${cd}`,
          "npm install",
          `export CS_API=${apiUrl} CS_TEAM_ID=${teamId}   # and CS_TOKEN`,
          'export TF_CLI_CONFIG_FILE="$(npx landform tools --terraform-config)"',
          `export TF_VAR_db_password=${secret} TF_VAR_db_superuser_password=${secret} TF_VAR_cache_password=${secret}`,
          "npx cdktf deploy --skip-provider-lock",
        ];
  return { dir, project, files, next, templateDir };
}

/** The text `landform init` prints: what it wrote and what to run next. */
export function initReport(template: TemplateName, result: InitResult): string {
  const tool = template === "pulumi" ? "Pulumi" : "CDKTF";
  const lines = [
    `wrote a TypeScript ${tool} project to ${result.dir}: ${result.files.join(", ")}`,
    "",
    "next (CS_TOKEN: a token of the team; `landform serve` prints a development token at its first start):",
    ...result.next.map((line) => `  ${line}`),
  ];
  if (template === "cdktf") {
    lines.push("", "keep the TF_VAR_ passwords: a deploy with new ones changes the services' passwords");
  } else {
    lines.push("", `the same template for pulumi new: pulumi new ${result.templateDir}`);
  }
  return `${lines.join("\n")}\n`;
}

export const INIT_USAGE = `usage: landform init pulumi|cdktf [DIR] [--api-url URL] [--team-id N] [--landform SPEC]`;

export function initCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "api-url": { type: "string" },
      "team-id": { type: "string" },
      landform: { type: "string" },
    },
  });
  const [template, dir = ".", ...extra] = positionals;
  if (template === undefined || extra.length > 0) throw new InitError(INIT_USAGE);
  const teamText = values["team-id"];
  const teamId = teamText === undefined ? undefined : Number(teamText);
  if (teamId !== undefined && !(Number.isInteger(teamId) && teamId > 0)) {
    throw new InitError(`--team-id: expected a positive integer, got "${teamText}"`);
  }
  const apiUrl = values["api-url"];
  if (apiUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(apiUrl)) {
    throw new InitError(`--api-url: expected an http:// or https:// URL, got "${apiUrl}"`);
  }
  const result = init({
    template,
    dir,
    ...(apiUrl ? { apiUrl } : {}),
    ...(teamId ? { teamId } : {}),
    ...(values.landform ? { landform: values.landform } : {}),
  });
  process.stdout.write(initReport(templateName(template), result));
  return 0;
}
