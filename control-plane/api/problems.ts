/**
 * Problem JSON bodies and the translation of zod issues into a `detail` that
 * names the field path and the rule (`plan.parameters.storage: expected int,
 * received string`), so a client can fix its request without reading code.
 */
import type { z } from "zod";
import type { Problem } from "../../sdk/schemas";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemJson(status: number, title: string, detail: string, traceId: string): string {
  const body: Problem = { status, title, detail, traceId };
  return JSON.stringify(body);
}

/** Where the validated value came from: it names the root and the word for an unknown key. */
export type Source = "body" | "query" | "path";

type Issue = z.ZodError["issues"][number];
type Key = PropertyKey;

const MAX_ISSUES = 20;

/** All issues as `path: rule`, joined with "; ". */
export function describeIssues(issues: readonly Issue[], input: unknown, source: Source): string {
  const lines = new Set<string>();
  collect(issues, input, [], source, lines);
  const all = [...lines];
  if (all.length <= MAX_ISSUES) return all.join("; ");
  return `${all.slice(0, MAX_ISSUES).join("; ")}; and ${all.length - MAX_ISSUES} more`;
}

function collect(
  issues: readonly Issue[],
  input: unknown,
  base: Key[],
  source: Source,
  out: Set<string>,
): void {
  for (const issue of issues) {
    const path = base.length === 0 ? (issue.path as Key[]) : [...base, ...issue.path];
    const raw = valueAt(input, path);
    switch (issue.code) {
      case "unrecognized_keys": {
        const what = source === "body" ? "field" : source === "query" ? "query parameter" : "path parameter";
        for (const key of issue.keys) out.add(`${formatPath([...path, key], source)}: unknown ${what}`);
        break;
      }
      case "invalid_union": {
        if (raw === undefined) {
          out.add(`${formatPath(path, source)}: required`);
          break;
        }
        const branch = closestBranch(issue.errors);
        if (branch) collect(branch, input, path, source, out);
        else out.add(`${formatPath(path, source)}: ${rule(issue)}`);
        break;
      }
      case "invalid_type": {
        const where = formatPath(path, source);
        if (raw === undefined)
          // Query and path values are always strings; naming the expected type would only confuse.
          out.add(
            source === "body" ? `${where}: required (expected ${issue.expected})` : `${where}: required`,
          );
        else if (source !== "body" && typeof raw === "string")
          // Query and path values are strings that zod coerced; name what was sent, not "NaN".
          out.add(`${where}: expected ${issue.expected}, received ${quote(raw)}`);
        else out.add(`${where}: ${rule(issue)}`);
        break;
      }
      case "invalid_format": {
        const where = formatPath(path, source);
        if (issue.format === "uuid") out.add(`${where}: must be a UUID`);
        else if (issue.format === "datetime") out.add(`${where}: must be an ISO 8601 date-time with offset`);
        else out.add(`${where}: ${rule(issue)}`);
        break;
      }
      default:
        out.add(`${formatPath(path, source)}: ${rule(issue)}`);
    }
  }
}

/**
 * Of a union's failed branches, the one the caller most likely meant: a branch
 * that rejected a key or a discriminating literal is the wrong branch, and of
 * the rest the one with fewest complaints wins.
 */
function closestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  let best: readonly Issue[] | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const branch of branches) {
    const wrong = branch.some(
      (i) =>
        i.code === "unrecognized_keys" ||
        (i.code === "invalid_value" && i.path.length === 1) ||
        (i.code === "invalid_type" && i.path.length === 0),
    );
    const score = (wrong ? 1_000 : 0) + branch.length;
    if (score < bestScore) {
      best = branch;
      bestScore = score;
    }
  }
  return best;
}

const DEFAULT_PREFIX = /^(?:Invalid input|Invalid option|Too small|Too big|Invalid string|Invalid): /;

function rule(issue: Issue): string {
  return issue.message.replace(DEFAULT_PREFIX, "");
}

function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

function formatPath(path: readonly Key[], source: Source): string {
  if (path.length === 0) return source;
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(input: unknown, path: readonly Key[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<Key, unknown>)[key];
  }
  return current;
}
