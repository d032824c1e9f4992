/**
 * Schema pieces the bundled catalog's entries share (./catalog.ts for
 * Landform's own `postgresql` and `redis`, ./catalog-core.ts for the core
 * catalog's five).
 */
import type { z } from "zod";
import type * as schemas from "../../sdk/schemas";

export type ApiProvider = z.infer<typeof schemas.ApiProvider>;
export type JsonSchema = Record<string, unknown>;
export type Plan = ApiProvider["plans"][number];
/** An entry without the parts `bundledCatalog` fills in. */
export type EntryFields = Omit<ApiProvider, "backend" | "schemaVersion" | "scope" | "author">;

/**
 * EXTENSION: what a reference backend reports in `details.phase`. An operation
 * in flight (`provisioning`, `updating`, `pausing`, `resuming`) ends in
 * `running` or `paused`; `details.ready` is true only in `running`.
 */
export const SERVICE_PHASES = [
  "provisioning",
  "updating",
  "pausing",
  "paused",
  "resuming",
  "running",
] as const;
export type ServicePhase = (typeof SERVICE_PHASES)[number];

const DRAFT = "https://json-schema.org/draft/2020-12/schema";

export function objectSchema(properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema {
  return { $schema: DRAFT, type: "object", properties, required, additionalProperties: false };
}

export function icon(letters: string, color: string): string {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">` +
    `<rect width="64" height="64" rx="12" fill="${color}"/>` +
    `<text x="32" y="41" font-family="sans-serif" font-size="24" font-weight="bold" fill="#fff" text-anchor="middle">${letters}</text>` +
    `</svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

/**
 * EXTENSIONS of the reference backends, shared by every details schema. Each
 * description starts with "EXTENSION", which is how the core catalog test
 * (catalog.core.test.ts) tells an addition from a difference.
 */
export const referenceDetails: Record<string, JsonSchema> = {
  phase: {
    type: "string",
    enum: [...SERVICE_PHASES],
    description: "EXTENSION (reference backends): what the backend is doing; `running` when usable.",
  },
  dataUrl: {
    type: "string",
    description:
      "EXTENSION (reference backends, simulated services only): URL of the service's key-value data set.",
  },
  simulated: {
    type: "boolean",
    description: "EXTENSION (reference backends): true when no real server runs behind the service.",
  },
  serverVersion: {
    type: "string",
    description: "EXTENSION (reference backends): the version the running server reports.",
  },
  restarts: {
    type: "integer",
    minimum: 0,
    description: "EXTENSION (reference backends): times the server died on its own and was started again.",
  },
};

export const readyDetail: JsonSchema = {
  type: "boolean",
  description: "True once the service accepts connections.",
};

/** `ready` where the core catalog's details have none. */
export const readyExtension: JsonSchema = {
  type: "boolean",
  description: "EXTENSION (reference backends): true once the service accepts requests.",
};

export const hostnameDetail: JsonSchema = { type: "string", description: "Host name clients connect to." };

export function port(description: string): JsonSchema {
  return { type: "integer", minimum: 1, maximum: 65535, description };
}

export function password(description: string): JsonSchema {
  return { type: "string", minLength: 8, writeOnly: true, description };
}

/** A plan parameter fixed by the plan: shown for pricing, never chosen. */
export function fixed(value: number, description: string): JsonSchema {
  return { type: "integer", readOnly: true, const: value, default: value, description };
}

/** A plan parameter the user chooses and may only grow. */
export function growable(value: number, minimum: number, description: string): JsonSchema {
  return { type: "integer", minimum, default: value, "x-update-constraint": "increase-only", description };
}
