/**
 * Where `landform serve` takes its tokens from (docs/authorization.md): token
 * files by flag and by environment, the precedence of flags, and a bad file
 * stopping the start without printing any token.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ServedControlPlane } from "./support/serve";

const dir = mkdtempSync(join(tmpdir(), "landform-tokens-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tokenFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

async function status(cp: ServedControlPlane, token: string, path: string): Promise<number> {
  const res = await fetch(`${cp.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  return res.status;
}

/** Runs `body` with environment variables set for the spawned process, then restores them. */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("landform serve's tokens", () => {
  it("come from --token-file, with comments, together with --token", async () => {
    const file = tokenFile(
      "tokens",
      "# operators\nfile-admin-7Yq=admin\n\n  file-team-3Pk=4 # not a comment\n",
    );
    // "# not a comment" is part of the teams and makes that line invalid: the start must fail on it.
    const bad = await ServedControlPlane.start({
      dataDir: join(dir, "bad"),
      extraArgs: ["--token-file", file],
    }).catch((e: Error) => e);
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message).toMatch(new RegExp(`${file}:4: TEAMS must be team ids`));
    expect((bad as Error).message).not.toContain("file-team-3Pk");

    writeFileSync(file, "# operators\nfile-admin-7Yq=admin\n\n  file-team-3Pk=4\n");
    const cp = await ServedControlPlane.start({
      tokens: ["flag-team-9Zr=5"],
      extraArgs: ["--token-file", file],
    });
    try {
      expect(await status(cp, "file-team-3Pk", "/api/managed-services?team=4")).toBe(200);
      expect(await status(cp, "file-team-3Pk", "/api/managed-services?team=5")).toBe(403);
      expect(await status(cp, "flag-team-9Zr", "/api/managed-services?team=5")).toBe(200);
      // The admin token acts for no team, but is a known token.
      expect(await status(cp, "file-admin-7Yq", "/api/managed-services/providers")).toBe(200);
      expect(await status(cp, "file-admin-7Yq", "/api/managed-services?team=4")).toBe(403);
      expect(await status(cp, "unknown-token", "/api/managed-services/providers")).toBe(401);
      // No development token is made when tokens are configured.
      expect(cp.output).not.toContain("Development token");
      for (const t of ["file-admin-7Yq", "file-team-3Pk", "flag-team-9Zr"])
        expect(cp.output).not.toContain(t);
    } finally {
      await cp.close();
    }
  });

  it("come from LANDFORM_TOKENS_FILE and LANDFORM_TOKENS when no token flag is given", async () => {
    const file = tokenFile("env-tokens", "env-file-2Hs=6\n");
    const cp = await withEnv(
      { LANDFORM_TOKENS_FILE: file, LANDFORM_TOKENS: "env-list-8Jd=7;env-admin-1Xc=admin" },
      () => ServedControlPlane.start(),
    );
    try {
      expect(await status(cp, "env-file-2Hs", "/api/managed-services?team=6")).toBe(200);
      expect(await status(cp, "env-list-8Jd", "/api/managed-services?team=7")).toBe(200);
      expect(await status(cp, "env-admin-1Xc", "/api/managed-services/providers")).toBe(200);
    } finally {
      await cp.close();
    }
  });

  it("from flags replace those from the environment", async () => {
    const cp = await withEnv({ LANDFORM_TOKENS: "env-only-4Nb=1" }, () =>
      ServedControlPlane.start({ tokens: ["flag-only-6Vm=1"] }),
    );
    try {
      expect(await status(cp, "flag-only-6Vm", "/api/managed-services?team=1")).toBe(200);
      expect(await status(cp, "env-only-4Nb", "/api/managed-services?team=1")).toBe(401);
    } finally {
      await cp.close();
    }
  });

  it("stop the start when a token file is missing or a token is given twice, naming where", async () => {
    const missing = await ServedControlPlane.start({
      dataDir: join(dir, "missing"),
      extraArgs: ["--token-file", join(dir, "nope")],
    }).catch((e: Error) => e);
    expect((missing as Error).message).toMatch(/token file .*nope: cannot be read \(ENOENT\)/);

    const file = tokenFile("dup", "dup-token-5Qw=1\n");
    const dup = await ServedControlPlane.start({
      dataDir: join(dir, "dup"),
      tokens: ["dup-token-5Qw=2"],
      extraArgs: ["--token-file", file],
    }).catch((e: Error) => e);
    expect((dup as Error).message).toMatch(
      new RegExp(`${file}:1: the same token is already given by --token #1`),
    );
    expect((dup as Error).message).not.toContain("dup-token-5Qw");
  });
});
