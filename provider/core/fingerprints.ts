/**
 * Secret fingerprints: how a provider tells that a secret changed without
 * keeping the secret. A fingerprint is HMAC-SHA256 over the field path and
 * the value, keyed by a random 32-byte key per resource. The key is the only
 * thing that must stay confidential, and each engine keeps it where its
 * state is protected (Pulumi: an output encrypted by the stack's secrets
 * provider). Without the key, a fingerprint allows no offline guessing at
 * all, however short the secret; with a plain or salted hash in state, a
 * six-character password falls to a laptop in minutes.
 * See docs/decisions/005-secret-fingerprints.md.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import type { Values } from "../../sdk/schemas";

const SCHEME = "hmac-sha256";
const DOMAIN = "landform secret fingerprint v1";

/** A new random fingerprint key, base64url (32 bytes). */
export function newFingerprintKey(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * A fingerprint key derived from material kept outside state (for an engine
 * whose state is not encrypted, e.g. from the API token): the same material
 * gives the same key on every machine.
 */
export function deriveFingerprintKey(material: string, context: string): string {
  return Buffer.from(hkdfSync("sha256", material, "landform", `${DOMAIN}: ${context}`, 32)).toString(
    "base64url",
  );
}

/**
 * The fingerprint of one secret value at an API path (`secrets.password`).
 * The path is part of the message, so equal secrets in two fields do not
 * show as equal fingerprints.
 */
export function fingerprint(key: string, path: string, value: unknown): string {
  const mac = createHmac("sha256", decodeKey(key));
  mac.update(`${DOMAIN}\0${path}\0${canonicalJson(value)}`);
  return `${SCHEME}:${mac.digest("base64url")}`;
}

/** Fingerprints of every key of a secrets map; `field` is its API path (`secrets`, `backups.secrets`). */
export function fingerprintValues(key: string, field: string, values: Values): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === null) continue;
    out[name] = fingerprint(key, `${field}.${name}`, value);
  }
  return out;
}

/** Constant-time comparison, for callers that check a value against a recorded fingerprint. */
export function matchesFingerprint(key: string, path: string, value: unknown, recorded: string): boolean {
  const a = Buffer.from(fingerprint(key, path, value));
  const b = Buffer.from(recorded);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function isFingerprint(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(`${SCHEME}:`);
}

function decodeKey(key: string): Buffer {
  const bytes = Buffer.from(key, "base64url");
  if (bytes.length < 32) throw new Error("fingerprint key must be at least 32 bytes (base64url)");
  return bytes;
}

/** JSON with sorted object keys, so equal values always give equal fingerprints. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}
