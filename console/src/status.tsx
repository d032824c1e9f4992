/** A service's state as the platform's Managed Services page shows it. */
import type { ManagedService } from "./api";

const LABELS: Record<string, string> = {
  creating: "Creating",
  updating: "Updating",
  deleting: "Deleting",
  deleted: "Deleted",
  pausing: "Pausing",
  unpausing: "Resuming",
  paused: "Paused",
  synchronized: "Synchronized",
  unknown: "Unknown",
  "invalid provider": "Invalid provider",
};

export function stateLabel(state: string): string {
  return LABELS[state] ?? state;
}

export function StatusBadge(props: { status: ManagedService["status"] }) {
  const state = props.status.state;
  return <span class={`status s-${state.replace(/\s+/g, "-")}`}>{stateLabel(state)}</span>;
}

/** When a soft-deleted service's record goes for good: its deletion plus the backups' retention. */
export function keptUntil(s: ManagedService): Date | undefined {
  const deletedAt = "deletedAt" in s.status ? s.status.deletedAt : undefined;
  if (typeof deletedAt !== "string" || !s.backups.enabled) return undefined;
  return new Date(Date.parse(deletedAt) + s.backups.deleteRetentionDays * 86_400_000);
}
