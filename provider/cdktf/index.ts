/**
 * landform/cdktf: CDKTF constructs for Codesphere managed services. Works
 * with cdktf 0.21 (see docs/terraform.md for CDK Terrain); deploying needs
 * the provider from `landform tools` (TF_CLI_CONFIG_FILE).
 */
export { PROVIDER_SOURCE } from "../terraform/address";
export { Landscape, type LandscapeMember, type LandscapeProps } from "./landscape";
export {
  ManagedService,
  type ManagedServiceBackups,
  type ManagedServiceProps,
  type ManagedServiceRecoverFrom,
  type ManagedServiceTimeouts,
  type Settings,
  validateManagedServiceProps,
} from "./managed-service";
export { CodesphereProvider, type CodesphereProviderProps } from "./provider";
