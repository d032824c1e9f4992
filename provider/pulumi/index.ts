/**
 * landform for Pulumi: `ManagedService` (a dynamic resource with its own
 * type token, `pulumi-nodejs:dynamic/codesphere:ManagedService`) and the
 * `Landscape` component. Connection: stack config `codesphere:apiUrl`,
 * `codesphere:token` (secret) and `codesphere:teamId`, else CS_API, CS_TOKEN
 * and CS_TEAM_ID. See docs/pulumi.md.
 */
export { Landscape, type LandscapeArgs, type LandscapeServiceArgs } from "./landscape";
export {
  type BackupsArgs,
  type ConnectionArgs,
  type LandscapeMemberArgs,
  ManagedService,
  type ManagedServiceArgs,
  type RecoverFromArgs,
} from "./managed-service";
