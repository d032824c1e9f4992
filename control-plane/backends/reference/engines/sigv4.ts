/**
 * AWS Signature Version 4 for the few requests the S3 engine sends that the
 * S3 SDK has no command for: versitygw's admin API (create-user,
 * delete-user, update-user, list-buckets, `<bucket>/create`), which is signed
 * like S3 with the gateway's root credentials.
 *
 * Written here rather than taken from the SDK's internal packages, which
 * are not dependencies of Landform and change without notice.
 */
import { createHash, createHmac } from "node:crypto";

export interface SignInput {
  method: string;
  url: URL;
  body: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Headers sent besides the signed ones (they are not signed). */
  headers?: Record<string, string>;
  /** Default: now. */
  date?: Date;
}

/** The headers to send: the caller's, plus host, x-amz-date, x-amz-content-sha256 and authorization. */
export function signV4(input: SignInput): Record<string, string> {
  const service = "s3";
  const amzDate = (input.date ?? new Date())
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256(input.body);
  const signed: Record<string, string> = {
    host: input.url.host,
    "x-amz-content-sha256": payloadHash,
    "x-amz-date": amzDate,
  };
  const names = Object.keys(signed).sort();
  const query = [...input.url.searchParams.entries()]
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalPath = input.url.pathname
    .split("/")
    .map((segment) => encode(decodeURIComponent(segment)))
    .join("/");
  const canonical = [
    input.method,
    canonicalPath || "/",
    query,
    names.map((n) => `${n}:${signed[n]}\n`).join(""),
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${input.region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  let key: Buffer = hmac(`AWS4${input.secretKey}`, day);
  for (const part of [input.region, service, "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return {
    ...input.headers,
    ...signed,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** RFC 3986 percent-encoding, as SigV4 wants it (unreserved characters stay). */
function encode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
