/**
 * Reading a resource's properties as a policy sees them: plain JSON in which
 * a value not known during a preview is one of the engine's sentinel strings.
 * Also the pure matching rules the policies share: credential-like keys,
 * credentials inside URLs, stack name patterns.
 */

/**
 * The engine's and the policy SDK's placeholders for a value not known yet
 * (a preview where an input depends on another resource's output). The
 * first one is what the engine sends for any type.
 */
export const UNKNOWN_VALUES: ReadonlySet<string> = new Set([
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (and any type, from the engine)
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
]);

/** The placeholder the engine sends for a value not known during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(value: unknown): boolean {
  return typeof value === "string" && UNKNOWN_VALUES.has(value);
}

/**
 * @pulumi/policy hands `args.props` wrapped in a proxy that throws as soon
 * as an unknown value is read, which aborts the whole policy with an
 * advisory "can't run during preview". The policies here decide field by
 * field instead (an unknown field is left unchecked, the known ones are
 * still checked), so they read the plain object behind the proxy. Anything
 * that is not such a proxy (a unit test's object) is returned as it is.
 */
export function plainProps(props: Record<string, unknown>): Record<string, unknown> {
  const target = (props as Record<string, unknown>).__getSpecialProxyTarget;
  return target !== null && typeof target === "object" ? (target as Record<string, unknown>) : props;
}

/** `value` as a plain object, or undefined when it is absent, unknown or not an object. */
export function objectOf(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The stack and project in a resource URN (`urn:pulumi:STACK::PROJECT::TYPE::NAME`). */
export function stackOfUrn(urn: string): { stack: string; project: string } | undefined {
  const m = /^urn:pulumi:([^:]+)::([^:]+)::/.exec(urn);
  return m ? { stack: m[1]!, project: m[2]! } : undefined;
}

/**
 * Whether a stack matches a pattern: `*` stands for any run of characters,
 * `?` for one, case-insensitive. A pattern with a `/` is matched against
 * `PROJECT/STACK`, any other against the stack name alone.
 */
export function matchesStackPattern(pattern: string, stack: string, project: string): boolean {
  const subject = pattern.includes("/") ? `${project}/${stack}` : stack;
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "i").test(subject);
}

/** Words of a key: `userPassword` -> user, password; `SECRET_ACCESS_KEY` -> secret, access, key. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w.toLowerCase());
}

/** Last words that mark a credential: `userPassword`, `apiKey`, `auth_token`, `clientSecret`. */
const CREDENTIAL_LAST_WORDS = new Set([
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "secret",
  "token",
  "key",
  "apikey",
  "credential",
  "credentials",
]);

/** Words that mark a credential wherever they stand: `passwordFile` is about one too. */
const CREDENTIAL_ANY_WORDS = new Set(["password", "passwd", "passphrase"]);

/**
 * Whether a configuration key names a credential: its last word is
 * password, secret, token, key, ... (`userPassword`, `apiKey`,
 * `secretAccessKey`, `auth_token`) or it mentions a password anywhere. Keys
 * that only mention one (`accessKeyId`, `tokenUrl`, `secretName`) do not
 * count. `extraPatterns` are case-insensitive regular expressions that also
 * count.
 */
export function isCredentialKey(key: string, extraPatterns: readonly RegExp[] = []): boolean {
  const words = keyWords(key);
  const last = words.at(-1);
  if (last !== undefined && CREDENTIAL_LAST_WORDS.has(last)) return true;
  if (words.some((w) => CREDENTIAL_ANY_WORDS.has(w))) return true;
  return extraPatterns.some((p) => p.test(key));
}

/** Whether a string is a URL with a password in it (`postgres://app:s3cret@db:5432/app`). */
export function hasCredentialInUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s:]*:[^/?#@\s]+@/i.test(value);
}
