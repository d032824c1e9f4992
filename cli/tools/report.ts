/** `landform tools --check`: what the bin directory holds, without building or changing anything. */
import * as fs from "node:fs";
import * as path from "node:path";
import { findOnPath, isExecutable } from "./files";
import { layout, type ToolsOptions } from "./layout";
import { probe } from "./process";
import {
  choosePulumi,
  DYNAMIC_PROVIDER,
  hostVersionOf,
  LANGUAGE_HOST,
  PULUMI_VERSION,
  pulumiVersionMatches,
  pulumiVersionOf,
} from "./pulumi";
import {
  chooseOpenTofu,
  chooseTerraform,
  OPENTOFU_VERSION,
  openTofuVersionLine,
  openTofuVersionUsable,
  TERRAFORM_MIN_VERSION,
  terraformVersionOf,
  terraformVersionUsable,
} from "./terraform";
import { type Choice, parseVersion } from "./versions";
import { VERSITYGW_VERSION } from "./versitygw";

export interface ToolStatus {
  name: string;
  ok: boolean;
  detail: string;
}

function describeLink(p: string): string {
  try {
    return fs.lstatSync(p).isSymbolicLink() ? ` -> ${fs.readlinkSync(p)}` : " (built)";
  } catch {
    return "";
  }
}

export async function checkTools(opts: ToolsOptions = {}): Promise<{ binDir: string; tools: ToolStatus[] }> {
  const env = opts.env ?? process.env;
  const l = layout(opts, env, PULUMI_VERSION);
  const bin = (n: string) => path.join(l.binDir, n);
  const go = findOnPath("go", env) ? "go is on PATH" : "no go on PATH";
  const present = (n: string, version: (b: string, e: NodeJS.ProcessEnv) => Promise<string | undefined>) =>
    isExecutable(bin(n)) ? version(bin(n), env) : undefined;
  const [pulumiOut, hostOut, tfOut, tofuOut, pathPulumi, pathTerraform, pathTofu] = await Promise.all([
    present("pulumi", pulumiVersionOf),
    present(LANGUAGE_HOST, hostVersionOf),
    present("terraform", terraformVersionOf),
    present("tofu", terraformVersionOf),
    probe("pulumi", env, l.root, pulumiVersionOf),
    probe("terraform", env, l.root, terraformVersionOf),
    probe("tofu", env, l.root, terraformVersionOf),
  ]);
  const missing = (choice: Choice, what: string) =>
    choice.kind === "path"
      ? `missing (would link ${choice.path} from PATH)`
      : `missing (would build ${what} from the Go module proxy; ${go})`;
  const version = (out: string | undefined) => parseVersion(out ?? "")?.join(".");
  const terraformChoice = chooseTerraform(pathTerraform);
  const tofuChoice = chooseOpenTofu(pathTofu);
  const opentofu = `OpenTofu ${OPENTOFU_VERSION}`;
  const tools: ToolStatus[] = [
    pulumiVersionMatches(pulumiOut)
      ? { name: "pulumi", ok: true, detail: `${pulumiOut}${describeLink(bin("pulumi"))}` }
      : { name: "pulumi", ok: false, detail: missing(choosePulumi(pathPulumi), `pulumi ${PULUMI_VERSION}`) },
    hostOut !== undefined
      ? { name: LANGUAGE_HOST, ok: true, detail: `${hostOut}${describeLink(bin(LANGUAGE_HOST))}` }
      : { name: LANGUAGE_HOST, ok: false, detail: missing({ kind: "build" }, LANGUAGE_HOST) },
    isExecutable(bin(DYNAMIC_PROVIDER))
      ? {
          name: DYNAMIC_PROVIDER,
          ok: true,
          detail: fs.lstatSync(bin(DYNAMIC_PROVIDER)).isSymbolicLink()
            ? `shipped with pulumi${describeLink(bin(DYNAMIC_PROVIDER))}`
            : "script (written by landform tools)",
        }
      : { name: DYNAMIC_PROVIDER, ok: false, detail: "missing (written by `landform tools`)" },
    terraformVersionUsable(tfOut)
      ? {
          name: "terraform",
          ok: true,
          detail: `${openTofuVersionLine(tfOut) ? "OpenTofu " : ""}${version(tfOut)}${describeLink(bin("terraform"))}`,
        }
      : {
          name: "terraform",
          ok: false,
          detail:
            terraformChoice.kind === "path"
              ? missing(terraformChoice, "")
              : `missing (no Terraform ${TERRAFORM_MIN_VERSION.join(".")}+ on PATH; would link OpenTofu here)`,
        },
    openTofuVersionUsable(tofuOut)
      ? {
          name: "tofu",
          ok: true,
          detail: `${version(openTofuVersionLine(tofuOut))}${describeLink(bin("tofu"))}`,
        }
      : terraformChoice.kind === "path" && tofuChoice.kind === "build"
        ? {
            name: "tofu",
            ok: true,
            detail: `not needed (Terraform on PATH); \`landform tools --opentofu\` builds ${opentofu}`,
          }
        : { name: "tofu", ok: false, detail: missing(tofuChoice, opentofu) },
    isExecutable(bin("versitygw"))
      ? { name: "versitygw", ok: true, detail: `${VERSITYGW_VERSION}${describeLink(bin("versitygw"))}` }
      : {
          name: "versitygw",
          ok: false,
          detail: missing({ kind: "build" }, `versitygw ${VERSITYGW_VERSION}`),
        },
  ];
  return { binDir: l.binDir, tools };
}

export function formatStatus(binDir: string, tools: ToolStatus[]): string {
  const width = Math.max(...tools.map((t) => t.name.length));
  const lines = tools.map((t) => `  ${t.name.padEnd(width)}  ${t.ok ? "ok     " : "MISSING"}  ${t.detail}`);
  return `${binDir}\n${lines.join("\n")}\n`;
}
