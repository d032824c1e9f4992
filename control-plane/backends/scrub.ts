/**
 * Makes text that came from a backend (an error body, an `error` field) safe
 * to put in an event or an API answer: a backend is another program, and what
 * it echoes may hold the very secrets the control plane sent it, terminal
 * escapes, or a megabyte of stack trace.
 */

/** Longest text kept, in characters, before the ellipsis. */
export const MAX_BACKEND_TEXT = 500;

const REDACTED = "[redacted]";

/** Work on at most this much of the input; the output is far shorter anyway. */
const MAX_INPUT = 256 * 1024;

// Every quantifier below is bounded: these run on hostile text, and an
// unbounded one after a prefix that can start anywhere is quadratic.
// C0, DEL, C1, and the bidirectional overrides and isolates that make text
// read differently from what it is.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;
// `Bearer <token>` and `Basic <credentials>` as sent in an Authorization header.
const AUTH_SCHEME = /\b(bearer|basic)\s{1,4}[A-Za-z0-9._~+/=-]{8,4096}/gi;
// `password=...`, `"apiKey": "..."`, `token: ...`: the value after a secret-looking name.
const NAMED_SECRET =
  /\b(pass(?:word|wd)?|pwd|secret|token|api[-_]?key|access[-_]?key|x-api-key|credentials?)("?\s{0,4}[:=]\s{0,4}"?)([^\s",;&]{1,200})/gi;
// user:password@ in a URL.
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]{0,30}:\/\/[^\s:/@]{0,200}:)[^\s@/]{1,200}@/gi;

/**
 * Every string (and number) inside `values`, in the forms a backend could
 * echo it: as is, JSON-escaped and percent-encoded.
 */
export function secretNeedles(...values: unknown[]): string[] {
  const found = new Set<string>();
  const visit = (v: unknown, depth: number): void => {
    if (depth > 16 || v === null || v === undefined) return;
    if (typeof v === "string" || typeof v === "number" || typeof v === "bigint") {
      const s = String(v);
      if (s === "") return;
      found.add(s);
      found.add(JSON.stringify(s).slice(1, -1));
      found.add(encodeURIComponent(s));
      found.add(s.replace(CONTROL, " "));
      return;
    }
    if (typeof v === "object") for (const item of Object.values(v)) visit(item, depth + 1);
  };
  for (const v of values) visit(v, 0);
  // Longest first, so a secret that contains another is removed whole.
  return [...found].sort((a, b) => b.length - a.length);
}

/**
 * Backend text as it may be shown: control characters become spaces, every
 * needle (see secretNeedles) and anything that looks like a credential is
 * replaced by "[redacted]", whitespace is collapsed, and the result is cut to
 * MAX_BACKEND_TEXT characters with an ellipsis.
 */
export function scrubBackendText(text: string, needles: readonly string[] = []): string {
  let out = text.length > MAX_INPUT ? text.slice(0, MAX_INPUT) : text;
  // Control characters first, and as spaces: removing them could join the halves of a secret.
  out = out.replace(CONTROL, " ");
  for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
  out = out
    .replace(AUTH_SCHEME, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(NAMED_SECRET, (_m, name: string, sep: string) => `${name}${sep}${REDACTED}`)
    .replace(URL_PASSWORD, (_m, head: string) => `${head}${REDACTED}@`)
    .replace(/\s{2,}/g, " ")
    .trim();
  if (out.length <= MAX_BACKEND_TEXT) return out;
  // Do not cut a surrogate pair in half.
  let end = MAX_BACKEND_TEXT;
  const code = out.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${out.slice(0, end)}…`;
}
