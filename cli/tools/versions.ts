/** Version numbers as tools print them (pure, unit-tested). */

export type Version = [number, number, number];

/** Finds the first `X.Y.Z` in a tool's version output (`Terraform v1.11.4`, `v3.248.0`). */
export function parseVersion(text: string): Version | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** A tool found on PATH, with what its version command printed (undefined if it failed). */
export interface Found {
  path: string;
  versionOutput: string | undefined;
}

/** Take the tool found on PATH, or build it. */
export type Choice = { kind: "path"; path: string } | { kind: "build" };
