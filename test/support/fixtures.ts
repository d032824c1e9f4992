/** Requests and secrets shared by the control-plane suites. */
import { CodesphereClient, type schemas } from "../../sdk";
import { type Exchange, recordingDispatcher } from "./openapi";
import type { ServedControlPlane } from "./serve";

export const DAY_MS = 86_400_000;

// Distinctive values, so a scan of every output can tell if one leaked.
export const PG_PASSWORD = "pw-Zq81-orchid-lantern";
export const PG_USERNAME = "user_kx04_meadow";
export const S3_ACCESS_KEY = "AKIA-Tn55-harbor";
export const S3_SECRET = "s3secret-Vb27-glacier";
export const SECRETS = [PG_PASSWORD, PG_USERNAME, S3_ACCESS_KEY, S3_SECRET];

/** An SDK client whose every exchange is recorded for the contract check. */
export function clientFor(cp: ServedControlPlane, token: string, exchanges: Exchange[]): CodesphereClient {
  return new CodesphereClient({
    baseUrl: cp.apiUrl,
    token,
    dispatcher: recordingDispatcher(exchanges),
    maxRetries: 2,
  });
}

/** The published guide's create request (postgresql 15), under another name. */
export function postgresRequest(
  name: string,
  options: { backups?: boolean; teamId?: number } = {},
): schemas.CreateManagedServiceRequest {
  return {
    teamId: options.teamId ?? 1,
    name,
    provider: { name: "postgresql", version: "15" },
    plan: { id: 1, parameters: { storage: 10 } },
    config: { max_connections: "100" },
    secrets: { password: PG_PASSWORD, username: PG_USERNAME },
    ...(options.backups
      ? {
          backups: {
            enabled: true as const,
            intervalH: 24,
            deleteRetentionDays: 7,
            config: { endpointUrl: "http://127.0.0.1:1", destinationPath: "s3://landform-test/" },
            secrets: { accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET },
          },
        }
      : {}),
  };
}
