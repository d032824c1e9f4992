/** Building a tool with `go build` from one of landform's Go modules in tools/. */
import * as fs from "node:fs";
import * as path from "node:path";
import { ToolsError } from "./errors";
import { findOnPath } from "./files";
import { run } from "./process";

export interface BuildContext {
  env: NodeJS.ProcessEnv;
  progress: (text: string) => void;
}

export function requireGo(ctx: BuildContext, what: string): string {
  const go = findOnPath("go", ctx.env);
  if (!go) {
    throw new ToolsError(
      `cannot build ${what}: no \`go\` on PATH. Install Go (1.26 or later; the Go module proxy must be reachable), ` +
        "or put the tool itself on PATH.",
    );
  }
  return go;
}

/**
 * `go build -o <out> <pkg>` in a Go module folder, into a temporary file
 * renamed into place when the build succeeds.
 */
export async function goBuild(
  ctx: BuildContext,
  moduleDir: string,
  pkg: string,
  out: string,
  ldflags: string,
): Promise<void> {
  const go = requireGo(ctx, path.basename(out));
  const tmp = `${out}.tmp-${process.pid}`;
  const args = [
    "build",
    "-mod=readonly",
    "-buildvcs=false",
    "-trimpath",
    "-ldflags",
    ldflags,
    "-o",
    tmp,
    pkg,
  ];
  ctx.progress(`  (cd ${moduleDir} && go ${args.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" ")})\n`);
  const started = Date.now();
  const r = await run(go, args, { env: ctx.env, cwd: moduleDir, onStderr: ctx.progress });
  if (r.code !== 0) {
    fs.rmSync(tmp, { force: true });
    const tail = r.stderr.trim().split("\n").slice(-20).join("\n");
    throw new ToolsError(`go build of ${pkg} failed (exit ${r.code}) in ${moduleDir}:\n${tail}`);
  }
  fs.renameSync(tmp, out);
  ctx.progress(`  built ${out} in ${Math.round((Date.now() - started) / 1000)} s\n`);
}
