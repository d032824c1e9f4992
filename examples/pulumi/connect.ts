/**
 * Command lines that connect to a service, from its details (host, port,
 * dsn, endpoint: what the backend reports) and its secrets. The example
 * stack outputs them as secrets (`connect`), and `npm start` prints them.
 *
 * A simulated service (details `simulated: true`: no engine for it on this
 * machine, see the warning `landform serve` prints at start) has no server
 * to connect to; its line is a shell comment that says so.
 */

export type Details = Record<string, unknown> | undefined | null;

/** Quoted for a POSIX shell: the value is read back exactly, whatever it holds. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Why there is no command, if there is none. */
function unreachable(details: Details): string | undefined {
  if (!details) return "# not provisioned yet";
  if (details.simulated === true) return "# simulated: no server behind this service on this machine";
  return undefined;
}

/** `psql` with the dsn the details give, the user and password filled in. */
export function psqlCommand(details: Details, user: string, password: string): string {
  const why = unreachable(details);
  if (why) return why;
  const url = new URL(String(details?.dsn));
  // The URL setters percent-encode whatever the secret holds.
  url.username = user;
  url.password = password;
  return `psql ${sh(url.toString())}`;
}

/**
 * `redis-cli -u redis://default:PASSWORD@HOST:PORT`: `requirepass` is the
 * default user's password. The user is named because redis-cli 7.0 reads
 * `redis://:PASSWORD@` as user "" and its AUTH fails.
 */
export function redisCommand(details: Details, password: string): string {
  const why = unreachable(details);
  if (why) return why;
  const url = new URL(`redis://${String(details?.hostname)}:${Number(details?.port)}`);
  url.username = "default";
  url.password = password;
  return `redis-cli -u ${sh(url.toString())}`;
}

/**
 * An aws-cli listing of the bucket the details name (or of the buckets the
 * key may see, when they name none), with the service's own key.
 */
export function s3Command(details: Details, accessKeyId: string, secretAccessKey: string): string {
  const why = unreachable(details);
  if (why) return why;
  const endpoint = String(details?.endpoint);
  const region = typeof details?.region === "string" ? ` --region ${sh(details.region)}` : "";
  const bucket = typeof details?.bucket === "string" ? ` ${sh(`s3://${details.bucket}`)}` : "";
  return (
    `AWS_ACCESS_KEY_ID=${sh(accessKeyId)} AWS_SECRET_ACCESS_KEY=${sh(secretAccessKey)} ` +
    `aws --endpoint-url ${sh(endpoint)}${region} s3 ls${bucket}`
  );
}
