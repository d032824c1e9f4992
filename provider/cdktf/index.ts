/**
 * landform/cdktf (and, built from the same files against CDK Terrain,
 * landform/cdktn): constructs for Codesphere managed services. The resource,
 * data source and provider classes are the bindings generated from the
 * provider's schema, in the shape `cdktf get` gives every provider (top-level
 * names, and the namespaces of `.gen/providers/codesphere`); `Landscape` is
 * on top. Deploying needs the provider from `landform tools`
 * (TF_CLI_CONFIG_FILE); see docs/terraform.md.
 */
export { PROVIDER_SOURCE } from "../terraform/address";
export * from "./generated/data-codesphere-providers";
export * as dataCodesphereProviders from "./generated/data-codesphere-providers";
export * from "./generated/provider";
export * as provider from "./generated/provider";
export { Landscape, type LandscapeMember, type LandscapeProps } from "./landscape";
export * from "./managed-service";
export * as managedService from "./managed-service";

import type { CodesphereProviderConfig } from "./generated/provider";
/** @deprecated The props are `CodesphereProviderConfig`, as in every generated binding. */
export type CodesphereProviderProps = CodesphereProviderConfig;
