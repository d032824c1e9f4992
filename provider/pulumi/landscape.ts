/**
 * `Landscape`: an app's set of managed services declared together, keyed by
 * service name, with shared defaults (team, backups, timeouts), one switch
 * that pauses every member whose provider can pause, and a teardown mode
 * that pauses members instead of deleting them, as the platform does when a
 * landscape is torn down.
 *
 *   const shop = new Landscape("shop", {
 *     backups: { intervalH: 24, deleteRetentionDays: 7, config: {...}, secrets: {...} },
 *     services: {
 *       "shop-db": { provider: { name: "postgres", version: "v1" }, plan: { id: 0 }, secrets: {...} },
 *       "shop-cache": { provider: { name: "redis", version: "v1" }, plan: { id: 0 }, secrets: {...} },
 *     },
 *   });
 *   export const dbHost = shop.services["shop-db"].hostname;
 *
 * Capabilities come from the live catalog, so the defaults are resolved per
 * member by the provider's check: backups go only to providers that support
 * them, the landscape-wide pause only to providers that can pause.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Timeouts } from "../core/lifecycle";
import {
  type BackupsArgs,
  type ConnectionArgs,
  ManagedService,
  type ManagedServiceArgs,
} from "./managed-service";

/** A member: a ManagedService's settings; team, name and connection come from the landscape. */
export type LandscapeServiceArgs = Omit<ManagedServiceArgs, "teamId" | "connection" | "landscape" | "name">;

export interface LandscapeArgs {
  /** Team of every member. Default: codesphere:teamId, then CS_TEAM_ID. */
  teamId?: pulumi.Input<number>;
  /** The members, keyed by service name (unique in the team). */
  services: Record<string, LandscapeServiceArgs>;
  /** Backups for every member whose provider supports them, unless it sets its own. */
  backups?: pulumi.Input<BackupsArgs>;
  /** Deadlines for every member, unless it sets its own. */
  timeouts?: pulumi.Input<Timeouts>;
  /** true pauses every member that can pause (a member's own `pause` wins). */
  pause?: pulumi.Input<boolean>;
  /**
   * What removing the landscape (or a member) does: `delete` (default)
   * deletes the services; `pause` pauses those that can pause and leaves every
   * member in place, and members are then adopted again by the next `up`.
   */
  teardown?: "delete" | "pause";
  connection?: ConnectionArgs;
}

export class Landscape extends pulumi.ComponentResource {
  /** The members, by service name. */
  readonly services: Readonly<Record<string, ManagedService>>;
  /** Each member's state, by service name. */
  readonly statuses: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: LandscapeArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("codesphere:index:Landscape", name, {}, opts);
    const teardown = args.teardown ?? "delete";
    const services: Record<string, ManagedService> = {};
    for (const [serviceName, member] of Object.entries(args.services)) {
      services[serviceName] = new ManagedService(
        `${name}-${serviceName}`,
        {
          ...member,
          name: serviceName,
          ...(args.teamId !== undefined ? { teamId: args.teamId } : {}),
          ...(args.connection ? { connection: args.connection } : {}),
          ...(member.timeouts === undefined && args.timeouts !== undefined
            ? { timeouts: args.timeouts }
            : {}),
          // A member left paused by a `pause` teardown is taken over again, not refused as a name clash.
          ...(teardown === "pause" && member.adopt === undefined ? { adopt: true } : {}),
          landscape: {
            name,
            teardown,
            ...(args.pause !== undefined ? { pause: args.pause } : {}),
            ...(args.backups !== undefined ? { backups: args.backups } : {}),
          },
        },
        { parent: this },
      );
    }
    this.services = services;
    this.statuses = pulumi
      .all(Object.fromEntries(Object.entries(services).map(([k, s]) => [k, s.status])))
      .apply((all) => ({ ...all }) as Record<string, string>);
    this.registerOutputs({ statuses: this.statuses });
  }
}
