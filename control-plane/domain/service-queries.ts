/**
 * The reading half of the managed-services use cases (managed-services.ts
 * adds the writes): views, lists and event pages for a caller, the counts
 * behind the metrics, and the checks every use case shares (the caller's
 * teams, a service's visibility, a free name).
 */
import type * as schemas from "../../sdk/schemas";
import type { ServiceRecord, Store } from "../store/store";
import type { Vault } from "../store/vault";
import type { ServiceView } from "../store/view-reads";
import type { Catalog } from "./providers";
import {
  type Awaitable,
  badRequest,
  type Caller,
  type ControlPlaneStats,
  conflict,
  forbidden,
  notFound,
} from "./types";
import { viewOf } from "./view";

export interface ManagedServicesOptions {
  store: Store;
  vault: Vault;
  catalog: Catalog;
  now: () => number;
  /** Tells the reconciler a service needs work now. */
  wake: (id: string) => void;
}

export class ServiceQueries implements ControlPlaneStats {
  private readonly outcomes: Record<string, number> = {};

  constructor(protected readonly o: ManagedServicesOptions) {}

  /** Synchronous when the store answers from memory (SQLite), so the GET path then creates no promise. */
  getJson(caller: Caller, id: string): Awaitable<string> {
    const found = this.o.store.serviceView(id);
    if (found instanceof Promise) return found.then((view) => this.visibleView(caller, id, view));
    return this.visibleView(caller, id, found);
  }

  private visibleView(caller: Caller, id: string, found: ServiceView | undefined): string {
    // Teams are walls: a service of another team is as absent as one that never was.
    if (!found || !caller.teams.has(found.teamId)) throw this.notFound(id);
    return found.view;
  }

  async list(caller: Caller, team: number, includeDeleted: boolean): Promise<schemas.ManagedService[]> {
    this.requireTeam(caller, team, "team");
    const out: schemas.ManagedService[] = [];
    for (const r of await this.o.store.servicesOfTeam(team)) {
      if (includeDeleted || !r.deletedAt) out.push(viewOf(r));
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  async events(
    caller: Caller,
    id: string,
    page: { cursor?: string; limit?: number },
  ): Promise<schemas.EventPage> {
    await this.visible(caller, id);
    const limit = Math.min(Math.max(page.limit ?? 100, 1), 1000);
    const after = page.cursor === undefined ? 0 : Number(page.cursor);
    if (!Number.isInteger(after) || after < 0)
      throw badRequest("cursor: must be a cursor returned as nextCursor");
    const rows = await this.o.store.events(id, after, limit + 1);
    const events = rows.slice(0, limit);
    const last = events.at(-1);
    return {
      events: events.map((r) => r.event),
      ...(rows.length > limit && last ? { nextCursor: String(last.seq) } : {}),
    };
  }

  servicesByState(): Promise<Record<string, number>> {
    return this.o.store.countByState();
  }
  reconcileOutcomes(): Record<string, number> {
    return { ...this.outcomes };
  }
  countOutcome(outcome: string): void {
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }

  // ---------------------------------------------------------------- checks

  protected requireTeam(caller: Caller, team: number, field: string): void {
    if (!caller.teams.has(team)) throw forbidden(`${field}: this token has no access to team ${team}`);
  }

  protected notFound(id: string) {
    return notFound(`managed service ${id} does not exist`);
  }

  /** The record if the caller's teams may see it; a service of another team does not exist for them. */
  protected async visible(caller: Caller, id: string): Promise<ServiceRecord> {
    const record = await this.o.store.service(id);
    if (!record || !caller.teams.has(record.teamId)) throw this.notFound(id);
    return record;
  }

  protected async requireFreeName(team: number, name: string): Promise<void> {
    const existing = await this.o.store.liveServiceNamed(team, name);
    if (existing)
      throw conflict(`name: team ${team} already has a service named "${name}" (id ${existing.id})`);
  }
}
