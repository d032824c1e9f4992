/** versitygw, the S3-compatible server backups are written to in tests and by `npm start` (Apache-2.0). */
import * as fs from "node:fs";
import * as path from "node:path";
import { isRegularFile, withLock } from "./files";
import { type BuildContext, goBuild } from "./go-build";
import { builtDir, cacheRootOf, moduleSource, type ToolsOptions } from "./layout";

export const VERSITYGW_VERSION = "v1.8.0";
const VERSITYGW_MODULE = "github.com/versity/versitygw/cmd/versitygw";

/** Builds versitygw into `<root>/versitygw-v1.8.0-<hash of tools/s3>/` if it is not there. */
export async function buildVersitygw(ctx: BuildContext, opts: ToolsOptions): Promise<string> {
  const src = moduleSource(opts, "s3");
  const dir = builtDir(cacheRootOf(opts, ctx.env), "versitygw", VERSITYGW_VERSION, src);
  const built = path.join(dir, "versitygw");
  if (isRegularFile(built)) return built;
  fs.mkdirSync(dir, { recursive: true });
  await withLock(dir, ctx.progress, async () => {
    if (isRegularFile(built)) return;
    ctx.progress(
      `building versitygw ${VERSITYGW_VERSION} from the Go module proxy (first time, a minute or two)…\n`,
    );
    await goBuild(ctx, src, VERSITYGW_MODULE, built, `-s -w -X main.Version=${VERSITYGW_VERSION}`);
  });
  return built;
}

/**
 * Only the S3-compatible server (for the backup suites and `npm start`),
 * built if the cache lacks it; returns the binary's path.
 */
export async function ensureVersitygw(opts: ToolsOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const progress = opts.progress ?? ((t: string) => void process.stderr.write(t));
  return buildVersitygw({ env, progress }, opts);
}
