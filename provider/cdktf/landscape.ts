/**
 * `Landscape`: an app's set of managed services declared together, keyed by
 * name, with shared defaults (team, provider binding, backup store) and a
 * landscape-wide `pause`.
 */
import type { TerraformProvider } from "cdktf";
import { Construct } from "constructs";
import { ManagedService, type ManagedServiceBackups, type ManagedServiceConfig } from "./managed-service";

/** A member: a managed service's props, with the name defaulting to the member's key. */
export interface LandscapeMember extends Omit<ManagedServiceConfig, "name" | "backups"> {
  /** Service name. Default: `${namePrefix}${key}`. */
  readonly name?: string;
  /**
   * `true` takes the landscape's `backups`; an object sets this member's own;
   * absent means no backups (not every provider can back up).
   */
  readonly backups?: boolean | ManagedServiceBackups;
}

export interface LandscapeProps {
  /** Team of every member that sets none. Default: the provider's. */
  readonly teamId?: number;
  /** Provider binding of every member that sets none. */
  readonly provider?: TerraformProvider;
  /** Prefix of the default member names, e.g. `shop-`. */
  readonly namePrefix?: string;
  /** Backup settings for members with `backups: true`. */
  readonly backups?: ManagedServiceBackups;
  /** Pauses every member that does not set `pause` itself (members whose provider cannot pause must set `pause: false`). */
  readonly pause?: boolean;
  /** The members, keyed by name. */
  readonly services: Record<string, LandscapeMember>;
}

export class Landscape extends Construct {
  /** The members' resources, by key. */
  readonly services: Record<string, ManagedService> = {};

  constructor(scope: Construct, id: string, props: LandscapeProps) {
    super(scope, id);
    for (const [key, member] of Object.entries(props.services)) {
      const { backups, name, ...rest } = member;
      let memberBackups: ManagedServiceBackups | undefined;
      if (backups === true) {
        if (!props.backups) {
          this.node.addValidation({
            validate: () => [
              `${this.node.path}: member "${key}" asks for the landscape's backups, but none are set`,
            ],
          });
        }
        memberBackups = props.backups;
      } else if (backups) {
        memberBackups = backups;
      }
      this.services[key] = new ManagedService(this, key, {
        ...rest,
        name: name ?? `${props.namePrefix ?? ""}${key}`,
        teamId: member.teamId ?? props.teamId,
        provider: member.provider ?? props.provider,
        pause: member.pause ?? props.pause,
        ...(memberBackups ? { backups: memberBackups } : {}),
      });
    }
  }
}
