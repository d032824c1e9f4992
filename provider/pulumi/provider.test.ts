/**
 * The `__provider` text as the dynamic provider host runs it: a CommonJS
 * module whose `handler()` gives the provider object. Evaluated here the same
 * way (a function of exports, require and process), with a module standing in
 * for the implementation at the recorded checkout path, and a project folder
 * without landform for the failure. test/pulumi.portable.test.ts runs it in
 * the real host.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it } from "vitest";
import { PROVIDER_TEXT, providerText, SERIALIZED_FORMAT } from "./provider";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-provider-text-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `text` as the host does (requireFromString(text).handler()), in a project at `cwd`. */
function handlerOf(text: string, cwd: string): pulumi.dynamic.ResourceProvider {
  const exports: { handler?: () => pulumi.dynamic.ResourceProvider } = {};
  const project = { cwd: () => cwd };
  new Function("exports", "require", "process", text)(
    exports,
    createRequire(path.join(cwd, "x.js")),
    project,
  );
  return exports.handler!();
}

describe("the provider text in state", () => {
  it("is small: one line naming its format, and nothing of this module but its own source", () => {
    expect(PROVIDER_TEXT.split("\n")[0]).toContain(SERIALIZED_FORMAT);
    // The closure serializer wrote 2.6 to 3.4 kB for the same provider.
    expect(providerText(undefined).length).toBeLessThan(1000);
    expect(providerText("/a/checkout/dist/provider/pulumi/implementation.js")).toContain(
      '("/a/checkout/dist/provider/pulumi/implementation.js")',
    );
  });

  it("calls the implementation at the recorded checkout path, each method by its own name", async () => {
    const implementation = path.join(dir, "implementation.js");
    fs.writeFileSync(
      implementation,
      `for (const m of ["check", "diff", "create", "read", "update", "remove"]) exports[m] = async (...args) => ({ m, args });\n`,
    );
    const provider = handlerOf(providerText(implementation), dir);
    expect(await provider.check!({ a: 1 }, { b: 2 })).toEqual({ m: "check", args: [{ a: 1 }, { b: 2 }] });
    expect(await provider.diff!("id", { a: 1 }, { b: 2 })).toEqual({
      m: "diff",
      args: ["id", { a: 1 }, { b: 2 }],
    });
    expect(await provider.create({ b: 2 })).toEqual({ m: "create", args: [{ b: 2 }] });
    expect(await provider.read!("id", { a: 1 })).toEqual({ m: "read", args: ["id", { a: 1 }] });
    expect(await provider.update!("id", { a: 1 }, { b: 2 })).toEqual({
      m: "update",
      args: ["id", { a: 1 }, { b: 2 }],
    });
    expect(await provider.delete!("id", { a: 1 })).toEqual({ m: "remove", args: ["id", { a: 1 }] });
  });

  it("without the checkout and without landform in the project, fails naming both and the fix", () => {
    const empty = fs.mkdtempSync(path.join(dir, "project-"));
    const gone = path.join(dir, "gone", "implementation.js");
    const provider = handlerOf(providerText(gone), empty);
    expect(() => provider.create({})).toThrow(
      `${SERIALIZED_FORMAT}: no landform in the Pulumi project at ${empty} (nor ${gone}); npm install landform`,
    );
  });
});
