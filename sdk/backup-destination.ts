/**
 * What a backup store's address looks like on the platform: the core
 * catalog's `endpointUrl` (an http(s) URL of an S3-compatible server) and
 * `destinationPath` ("Must use the s3:// scheme", a bucket and an optional
 * prefix). The control plane refuses other shapes when backups are set up,
 * and the reference backends read the same shapes when they take a backup,
 * so a destination that could never hold a backup is refused at the API
 * rather than found out by a delete that waits for its final backup.
 *
 * Problems name the field and the rule, never the value (a URL may carry
 * credentials).
 */

/** S3 bucket names: 3 to 63 of [a-z0-9.-], a letter or digit at both ends. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The endpoint's origin and path without a trailing slash, e.g. `http://127.0.0.1:9000`. */
export function parseEndpointUrl(value: string): { endpoint: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: "must be an http:// or https:// URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { problem: "must be an http:// or https:// URL" };
  }
  if (url.username || url.password) return { problem: "must not carry credentials" };
  if (url.search || url.hash) return { problem: "must not carry a query or a fragment" };
  const path = url.pathname.replace(/\/+$/, "");
  return { endpoint: `${url.origin}${path}` };
}

/** `s3://BUCKET` or `s3://BUCKET/PREFIX`; the prefix without leading or trailing slashes. */
export function parseDestinationPath(
  value: string,
): { bucket: string; prefix: string } | { problem: string } {
  const m = /^s3:\/\/([^/]+)(\/.*)?$/.exec(value);
  if (!m || !BUCKET.test(m[1]!) || /\.\.|\.-|-\./.test(m[1]!)) {
    return { problem: "must be s3://BUCKET or s3://BUCKET/PREFIX with a valid bucket name" };
  }
  return { bucket: m[1]!, prefix: (m[2] ?? "").replace(/^\/+|\/+$/g, "") };
}

/**
 * The problems of a backup store config's address fields (those present and
 * given as strings; the provider's schema says which are required), each as
 * `FIELD.NAME: rule` under `field`.
 */
export function destinationProblems(field: string, config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof config.endpointUrl === "string") {
    const parsed = parseEndpointUrl(config.endpointUrl);
    if ("problem" in parsed) problems.push(`${field}.endpointUrl: ${parsed.problem}`);
  }
  if (typeof config.destinationPath === "string") {
    const parsed = parseDestinationPath(config.destinationPath);
    if ("problem" in parsed) problems.push(`${field}.destinationPath: ${parsed.problem}`);
  }
  return problems;
}
