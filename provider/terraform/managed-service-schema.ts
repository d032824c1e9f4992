/**
 * The schema of `codesphere_managed_service`: attributes, their descriptions
 * (from the shared field table, provider/core/fields.ts) and which are
 * sensitive or write-only.
 */
import { FIELD_RULES } from "../core/fields";
import type { AttributeSpec, SchemaSpec } from "./schema";

export const TYPE_NAME = "codesphere_managed_service";

/** The description of a field from the shared table, by its Terraform attribute path. */
function describe(terraformPath: string, extra = ""): string {
  const rule = FIELD_RULES.find((r) => r.terraform === terraformPath);
  const change =
    rule?.onChange === "replace"
      ? " Changing it replaces the service."
      : rule?.onChange === "update"
        ? ""
        : "";
  return `${rule?.description ?? ""}${change}${extra}`.trim();
}

const secretNote =
  " Sensitive; write-only on Terraform 1.11 and later (never stored in plan or state), stored in state marked sensitive on older versions.";

const SECRETS = (path: string, extra = ""): AttributeSpec => ({
  name: "secrets",
  type: "dynamic",
  optional: true,
  sensitive: true,
  writeOnly: true,
  description: describe(path, secretNote + extra),
});

export const MANAGED_SERVICE_SCHEMA: SchemaSpec = {
  version: 0,
  block: {
    description:
      "A Codesphere managed service (a database, cache, object store or any provider of the catalog). " +
      "Import with its id: `terraform import codesphere_managed_service.NAME SERVICE_ID` (or `TEAM_ID/SERVICE_ID`).",
    attributes: [
      { name: "id", type: "string", computed: true, description: describe("id") },
      {
        name: "team_id",
        type: "number",
        optional: true,
        computed: true,
        description:
          "Team that owns the service. Default: the provider's `team_id` (or `CS_TEAM_ID`). Changing it replaces the service.",
      },
      { name: "name", type: "string", required: true, description: describe("name") },
      { name: "provider_name", type: "string", required: true, description: describe("provider_name") },
      {
        name: "provider_version",
        type: "string",
        optional: true,
        computed: true,
        description: `${describe("provider_version")} Default: the newest in the catalog.`,
      },
      { name: "plan_id", type: "number", required: true, description: describe("plan.id") },
      {
        name: "plan_parameters",
        type: ["map", "number"],
        optional: true,
        computed: true,
        description: `${describe("plan.parameters")} A decrease of an increase-only parameter replaces the service.`,
      },
      {
        name: "config",
        type: "dynamic",
        optional: true,
        computed: true,
        description: `${describe("config")} Keys the catalog marks immutable replace the service when changed.`,
      },
      SECRETS("secrets"),
      {
        name: "secrets_version",
        type: "number",
        optional: true,
        description:
          "Raise it to send `secrets` (and `backups.secrets`) again, e.g. after rotating them outside Terraform. " +
          "Changes of the secrets themselves are found from their fingerprints without it.",
      },
      {
        name: "backups",
        optional: true,
        description: describe("backups"),
        nested: [
          { name: "enabled", type: "bool", required: true, description: describe("backups.enabled") },
          { name: "interval_h", type: "number", optional: true, description: describe("backups.interval_h") },
          {
            name: "delete_retention_days",
            type: "number",
            optional: true,
            description: describe("backups.delete_retention_days"),
          },
          { name: "config", type: "dynamic", optional: true, description: describe("backups.config") },
          SECRETS("backups.secrets"),
        ],
      },
      {
        name: "pause",
        type: "bool",
        optional: true,
        computed: true,
        description: `${describe("pause")} Default false.`,
      },
      {
        name: "recover_from",
        optional: true,
        description: describe("recover_from"),
        nested: [
          { name: "backup_id", type: "string", optional: true, description: "Backup to restore (its id)." },
          {
            name: "service_id",
            type: "string",
            optional: true,
            description: "Service whose data to restore at `time` (point-in-time recovery).",
          },
          { name: "time", type: "string", optional: true, description: "Point in time (RFC 3339)." },
          { name: "config", type: "dynamic", optional: true, description: "Backup store settings." },
          SECRETS("recover_from.secrets"),
        ],
      },
      { name: "status", type: "string", computed: true, description: describe("status") },
      {
        name: "details",
        type: "dynamic",
        computed: true,
        sensitive: true,
        description: `${describe("details")} Sensitive as a whole, since it may carry a connection string.`,
      },
      {
        name: "backup_entries",
        type: [
          "list",
          [
            "object",
            { id: "string", scheduled_at: "string", initiated_at: "string", confirmed_at: "string" },
          ],
        ],
        computed: true,
        description: describe("backup_entries"),
      },
      { name: "created_at", type: "string", computed: true, description: describe("created_at") },
      {
        name: "secret_fingerprints",
        type: ["map", "string"],
        computed: true,
        sensitive: true,
        description: describe("secret_fingerprints", " Keyed with a key derived from the API token."),
      },
    ],
    blocks: [
      {
        name: "timeouts",
        block: {
          description: "How long to wait for each operation, as `30s`, `20m`, `1h`.",
          attributes: [
            { name: "create", type: "string", optional: true, description: "Default 20m." },
            { name: "update", type: "string", optional: true, description: "Default 20m." },
            { name: "delete", type: "string", optional: true, description: "Default 10m." },
          ],
        },
      },
    ],
  },
};
