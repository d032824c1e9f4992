import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseEnvironment, runResident, startupSettings } from "./resident";

const temps: string[] = [];
afterEach(() => {
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "landform-resident-"));
  temps.push(d);
  return d;
}

describe("the launcher's environment", () => {
  it("is read from NUL-ended NAME=value entries, values with newlines and = kept whole", () => {
    const cert = "-----BEGIN CERTIFICATE-----\nMIIB=\n-----END CERTIFICATE-----\n";
    const bytes = Buffer.from(`PLUGIN_CLIENT_CERT=${cert}\0CS_TOKEN=a=b\0EMPTY=\0\0`);
    expect(parseEnvironment(bytes)).toEqual({ PLUGIN_CLIENT_CERT: cert, CS_TOKEN: "a=b", EMPTY: "" });
  });

  it("must match the resident's start-only settings, and only those", () => {
    const mine = { NODE_OPTIONS: "--max-old-space-size=512", PATH: "/bin", CS_TOKEN: "x" };
    expect(
      startupSettings({ CS_TOKEN: "y", PATH: "/usr/bin", NODE_OPTIONS: "--max-old-space-size=512" }),
    ).toBe(startupSettings(mine));
    expect(startupSettings({ ...mine, NODE_EXTRA_CA_CERTS: "/ca.pem" })).not.toBe(startupSettings(mine));
    expect(startupSettings({ ...mine, LANDFORM_NODE: "/opt/node22/bin/node" })).not.toBe(
      startupSettings(mine),
    );
  });
});

describe("runResident", () => {
  it("refuses a folder other users can enter", async () => {
    const dir = path.join(tempDir(), "open");
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    await expect(runResident({ dir, entry: __filename, exit: () => {} })).rejects.toThrow(
      /can be entered by other users/,
    );
    expect(fs.existsSync(path.join(dir, "pid"))).toBe(false);
  });

  it("serves a folder alone: a second one stands back while the first lives, and takes over once it ended", async () => {
    const dir = path.join(tempDir(), "resident");
    let ended = 0;
    const first = await runResident({ dir, entry: __filename, exit: () => ended++ });
    expect(first).toBeDefined();
    expect(fs.readFileSync(path.join(dir, "pid"), "utf8")).toBe(String(process.pid));
    expect(fs.statSync(path.join(dir, "requests")).isFIFO()).toBe(true);
    expect(await runResident({ dir, entry: __filename, exit: () => {} })).toBeUndefined();
    first!.stop();
    expect(ended).toBe(1);
    expect(fs.existsSync(path.join(dir, "pid"))).toBe(false);
    const second = await runResident({ dir, entry: __filename, exit: () => {} });
    expect(second).toBeDefined();
    second!.stop();
  });
});
