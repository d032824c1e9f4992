import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TokenTable } from "./auth";
import { builtConsoleDir, loadConsoleFiles, SIGN_IN_CODE_TTL_MS, SignInCodes } from "./console";

function codes() {
  const tokens = new TokenTable();
  tokens.add("tok-team-1", { teams: new Set([1]), admin: false });
  let now = 1_000_000;
  const c = new SignInCodes(tokens, () => now);
  return { c, advance: (ms: number) => (now += ms) };
}

describe("one-time sign-in codes", () => {
  it("stand for their token exactly once", () => {
    const { c } = codes();
    const code = c.issue("tok-team-1");
    expect(code).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(c.redeem(code)).toBe("tok-team-1");
    expect(c.redeem(code)).toBeUndefined();
  });

  it("expire after their time", () => {
    const { c, advance } = codes();
    const code = c.issue("tok-team-1");
    advance(SIGN_IN_CODE_TTL_MS);
    expect(c.redeem(code)).toBeUndefined();
  });

  it("are never made for a token the server does not accept, and guesses get nothing", () => {
    const { c } = codes();
    expect(() => c.issue("not-a-token")).toThrow(/accepted token/);
    const code = c.issue("tok-team-1");
    const other = code.endsWith("A") ? "B" : "A"; // a guess one character off, never the code itself
    expect(c.redeem(`${code.slice(0, -1)}${other}`)).toBeUndefined();
    expect(c.redeem(code)).toBe("tok-team-1");
  });
});

describe("the console's files", () => {
  it("are read into a table of known names, skipping types the console does not serve", () => {
    const dir = mkdtempSync(join(tmpdir(), "landform-console-"));
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), "<!doctype html>");
    writeFileSync(join(dir, "assets", "index-abc.js"), "export {}");
    writeFileSync(join(dir, "assets", "notes.txt"), "no");
    const files = loadConsoleFiles(dir);
    expect(files.index.toString()).toBe("<!doctype html>");
    expect([...files.assets.keys()]).toEqual(["index-abc.js"]);
  });

  it("are looked for in this package's dist/console only", () => {
    const dir = mkdtempSync(join(tmpdir(), "landform-pkg-"));
    writeFileSync(join(dir, "package.json"), "{}");
    mkdirSync(join(dir, "src", "deep"), { recursive: true });
    expect(builtConsoleDir(join(dir, "src", "deep"))).toBeUndefined();
    mkdirSync(join(dir, "dist", "console"), { recursive: true });
    writeFileSync(join(dir, "dist", "console", "index.html"), "x");
    expect(builtConsoleDir(join(dir, "src", "deep"))).toBe(join(dir, "dist", "console"));
  });
});
