/**
 * Every TypeScript snippet in README.md and docs/ is a complete program: the
 * test extracts each ```ts block, writes it as its own module in a project
 * that depends on this checkout, and type-checks them all with the settings
 * of the official templates (`pulumi new typescript`; cdktf's are the same
 * where it matters: strict, CommonJS, node resolution). A snippet that uses a
 * name it never defines, or an API that does not exist, fails here with its
 * file and line.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linkDependencies, PULUMI_TEMPLATE_FLAGS, tscOf, typeErrors } from "./support/consumer";
import { ROOT } from "./support/serve";

interface Snippet {
  /** Where it is written, e.g. README.md:40 (the line of the opening fence). */
  source: string;
  code: string;
  /** JavaScript snippets are checked too (checkJs), as a JavaScript user's editor does. */
  language: "ts" | "js";
}

const FENCE = /^```(ts|typescript|js|javascript)\s*$/;

/** The ```ts blocks of a markdown text, with the line each starts on. */
function snippetsOf(file: string, text: string): Snippet[] {
  const lines = text.split("\n");
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = FENCE.exec(lines[i] as string);
    if (!fence) continue;
    const language = fence[1]?.startsWith("t") ? "ts" : "js";
    const start = i + 1;
    let end = start;
    while (end < lines.length && !(lines[end] as string).startsWith("```")) end++;
    found.push({ source: `${file}:${start}`, code: lines.slice(start, end).join("\n"), language });
    i = end;
  }
  return found;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith(".md") ? [path] : [];
  });
}

let work = "";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "landform-snippets-"));
  linkDependencies(work, ROOT);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Type-checks the snippets together (each its own module) and returns the errors, located in the markdown. */
function check(snippets: Snippet[]): string[] {
  const files = snippets.map((snippet, n) => {
    const file = join(work, `snippet-${n}.${snippet.language}`);
    // A trailing `export {}` makes a snippet without imports a module of its own.
    writeFileSync(file, `${snippet.code}\nexport {};\n`);
    return file;
  });
  const errors = typeErrors(
    tscOf(5),
    [...PULUMI_TEMPLATE_FLAGS, "--allowJs", "--checkJs", "--types", "node", ...files],
    work,
  );
  return errors.map((line) =>
    line.replace(
      /^(?:.*\/)?snippet-(\d+)\.[jt]s\((\d+),(\d+)\)/,
      (_, n: string, row: string, col: string) => {
        const snippet = snippets[Number(n)] as Snippet;
        const [file, start] = snippet.source.split(":") as [string, string];
        return `${file}:${Number(start) + Number(row)}:${col}`;
      },
    ),
  );
}

describe("snippets in the docs", () => {
  it("every TypeScript and JavaScript snippet in README.md and docs/ type-checks as a complete program", () => {
    const snippets = [join(ROOT, "README.md"), ...markdownFiles(join(ROOT, "docs"))].flatMap((path) =>
      snippetsOf(relative(ROOT, path), readFileSync(path, "utf8")),
    );
    expect(snippets.length).toBeGreaterThanOrEqual(5);
    expect(check(snippets)).toEqual([]);
  });

  it("catches a snippet that uses a name it never defines, at its line in the markdown", () => {
    const broken = [
      "# Example",
      "",
      "```ts",
      'import { ManagedService } from "landform/pulumi";',
      "",
      'new ManagedService("db", {',
      '  provider: { name: "postgres", version: "v1" },',
      "  plan: { id: 1 },",
      '  secrets: { userPassword: cfg.requireSecret("dbPassword") },',
      "});",
      "```",
    ].join("\n");
    const errors = check(snippetsOf("broken.md", broken));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^broken\.md:9:\d+: error TS2304: Cannot find name 'cfg'/);
  });

  it("catches a snippet that calls an API the package does not have", () => {
    const broken = [
      "```ts",
      'import { ManagedServce } from "landform/pulumi";',
      "ManagedServce;",
      "```",
    ].join("\n");
    expect(check(snippetsOf("typo.md", broken)).join("\n")).toMatch(/typo\.md:2:\d+: error TS(2724|2305)/);
  });
});
