/** FerretDB v1 (Apache-2.0): MongoDB wire protocol over SQLite, one server per ferretdb service. */
import * as fs from "node:fs";
import * as path from "node:path";
import { ToolsError } from "./errors";
import { isRegularFile, withLock } from "./files";
import { type BuildContext, goBuild, requireGo } from "./go-build";
import { builtDir, cacheRootOf, moduleDir, type ToolsOptions } from "./layout";
import { run } from "./process";

export const FERRETDB_VERSION = "v1.24.2";
const FERRETDB_MODULE = "github.com/FerretDB/FerretDB";

/** `<root>/ferretdb-v1.24.2-<hash of tools/ferretdb>/ferretdb`, built or not. */
export function ferretdbPath(opts: ToolsOptions = {}): string {
  const env = opts.env ?? process.env;
  const src = moduleDir(opts, "ferretdb");
  return path.join(builtDir(cacheRootOf(opts, env), "ferretdb", FERRETDB_VERSION, src), "ferretdb");
}

/**
 * Builds FerretDB into the tools cache if it is not there; returns its path.
 * The module as the proxy serves it lacks build/version/version.txt, which
 * its own build generates from git (and without which the binary refuses to
 * start); so the build gets a module cache of its own (seeded from the
 * machine's), and that file, holding the version, is written into it.
 */
export async function ensureFerretdb(opts: ToolsOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((t: string) => void process.stderr.write(t));
  const built = ferretdbPath(opts);
  if (isRegularFile(built)) return built;
  const dir = path.dirname(built);
  const src = moduleDir(opts, "ferretdb");
  fs.mkdirSync(dir, { recursive: true });
  await withLock(dir, progress, async () => {
    if (isRegularFile(built)) return;
    const ctx: BuildContext = { env, progress };
    const go = requireGo(ctx, "ferretdb");
    const shared = (await run(go, ["env", "GOMODCACHE"], { env })).stdout.trim();
    const seeded = shared && fs.existsSync(path.join(shared, "cache", "download"));
    const buildEnv: NodeJS.ProcessEnv = {
      ...env,
      GOMODCACHE: path.join(dir, "gomod"),
      GOFLAGS: "-modcacherw",
      ...(seeded
        ? {
            GOPROXY: `file://${path.join(shared, "cache", "download")},${env.GOPROXY || "https://proxy.golang.org,direct"}`,
          }
        : {}),
    };
    progress(
      `building ferretdb ${FERRETDB_VERSION} from the Go module proxy (first time, two minutes or more)…\n`,
    );
    const download = await run(go, ["mod", "download", FERRETDB_MODULE], { env: buildEnv, cwd: src });
    if (download.code !== 0)
      throw new ToolsError(`go mod download ${FERRETDB_MODULE} failed:\n${download.stderr}`);
    const moduleRoot = (
      await run(go, ["list", "-m", "-f", "{{.Dir}}", FERRETDB_MODULE], { env: buildEnv, cwd: src })
    ).stdout.trim();
    if (!moduleRoot) throw new ToolsError(`cannot find ${FERRETDB_MODULE} in ${buildEnv.GOMODCACHE}`);
    fs.writeFileSync(path.join(moduleRoot, "build", "version", "version.txt"), `${FERRETDB_VERSION}\n`);
    await goBuild({ env: buildEnv, progress }, src, `${FERRETDB_MODULE}/cmd/ferretdb`, built, "-s -w");
    // The private module cache is only needed for this build (hundreds of MB).
    fs.rmSync(buildEnv.GOMODCACHE!, { recursive: true, force: true });
  });
  return built;
}
