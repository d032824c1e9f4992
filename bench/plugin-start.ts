/**
 * How long the Terraform provider plugin takes from process start to the
 * handshake line, the way Terraform starts it: the launcher from the
 * provider mirror, go-plugin's magic cookie, a client certificate in
 * PLUGIN_CLIENT_CERT (so the plugin makes its key and certificate and binds
 * mutual TLS). Terraform starts a new plugin process for every phase of a
 * run, so this is paid several times per `terraform apply`.
 *
 * The plugin is timed both ways the launcher runs it: a plugin process
 * (LANDFORM_PROVIDER_RESIDENT=0) and a session of the resident provider,
 * which is started once before the runs.
 *
 * Beside it, a bare `node` printing one line (the floor), and with
 * `--baseline DIR` the plugin of another built checkout (e.g. a worktree at
 * main), in alternating order, so before and after come from one run.
 *
 * Run: npm run build && node dist/bench/plugin-start.js [--runs 20] [--baseline ../landform-main]
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stopResident } from "../cli/terraform-launcher";
import { MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE } from "../provider/terraform/plugin";
import { createTlsIdentity } from "../provider/terraform/tls";
import { checkoutMirror } from "./support/checkout-mirror";
import { median, ROOT } from "./support/processes";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "20" },
    baseline: { type: "string" },
  },
});
const RUNS = Number(values.runs);

/** Milliseconds from spawn to the first line on standard output; the process is then ended. */
function timeToFirstLine(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let ms: number | undefined;
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.once("data", () => {
      ms = Number(process.hrtime.bigint() - started) / 1e6;
      child.kill("SIGKILL");
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      ms === undefined
        ? reject(new Error(`${command} exited with ${code} before its first line:\n${stderr}`))
        : resolve(ms),
    );
  });
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "landform-bench-start-"));
  const residents: string[] = [];
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      [MAGIC_COOKIE_KEY]: MAGIC_COOKIE_VALUE,
      PLUGIN_PROTOCOL_VERSIONS: "5,6",
      PLUGIN_CLIENT_CERT: createTlsIdentity().certPem,
    };
    const floor = path.join(work, "floor.js");
    fs.writeFileSync(floor, 'process.stdout.write("1\\n");\n');
    const subjects: { label: string; command: string; args: string[]; env: NodeJS.ProcessEnv }[] = [
      { label: "node (floor)", command: process.execPath, args: [floor], env },
    ];
    const launcher = (dir: string, label: string, extra: NodeJS.ProcessEnv = {}) => {
      const mirror = checkoutMirror(dir, path.join(work, label));
      if (mirror.residentDir) residents.push(mirror.residentDir);
      subjects.push({ label, command: mirror.launcher, args: [], env: { ...env, ...extra } });
    };
    if (values.baseline) launcher(path.resolve(values.baseline), "plugin (baseline)");
    launcher(ROOT, "plugin, no resident", { LANDFORM_PROVIDER_RESIDENT: "0" });
    launcher(ROOT, "plugin, resident");
    // The resident's own start is paid once, not per session: start it before timing.
    await timeToFirstLine(subjects.at(-1)!.command, [], subjects.at(-1)!.env);

    const times = new Map<string, number[]>(subjects.map((s) => [s.label, []]));
    for (let run = 0; run < RUNS; run++) {
      // Rotate the order, so no subject always runs right after another.
      for (let i = 0; i < subjects.length; i++) {
        const s = subjects[(run + i) % subjects.length]!;
        times.get(s.label)!.push(await timeToFirstLine(s.command, s.args, s.env));
      }
    }
    const floorMs = median(times.get("node (floor)")!);
    process.stdout.write(
      `plugin start to handshake, node ${process.version}, median of ${RUNS} (ms)\n` +
        `${"".padEnd(22)} ${"median".padStart(8)} ${"min".padStart(8)} ${"over node".padStart(10)}\n`,
    );
    for (const s of subjects) {
      const xs = times.get(s.label)!;
      process.stdout.write(
        `${s.label.padEnd(22)} ${median(xs).toFixed(0).padStart(8)} ${Math.min(...xs)
          .toFixed(0)
          .padStart(8)} ${(median(xs) - floorMs).toFixed(0).padStart(10)}\n`,
      );
    }
  } finally {
    await Promise.all(residents.map((d) => stopResident(d)));
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
