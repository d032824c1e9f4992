/**
 * What every IaC engine shares: the field rules (update or replace), checks
 * against the catalog, request bodies, secret fingerprints, the lifecycle
 * with waits and deadlines, adoption and drift reading.
 */
export * from "./catalog-checks";
export * from "./connection";
export * from "./details";
export * from "./fields";
export * from "./fingerprints";
export * from "./intents";
export * from "./lifecycle";
export * from "./plan-changes";
export * from "./requests";
