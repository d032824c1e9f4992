/**
 * What a reconcile step may know of a service's secrets: they are opened from
 * the vault only when a backend call needs them, and every text that came
 * from a backend is scrubbed of them (in each form a backend might echo) and
 * of the backend's own key before it goes into an event or a record.
 */
import { scrubBackendText, secretNeedles } from "../backends/scrub";
import type { SecretKind, ServiceRecord, Store } from "../store/store";
import type { Vault } from "../store/vault";

export class StepSecrets {
  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
  ) {}

  /** The service's secrets of one kind; {} when it has none. */
  async open(owner: string, kind: SecretKind): Promise<Record<string, unknown>> {
    const sealed = await this.store.sealedSecret(owner, kind);
    return sealed ? this.vault.open<Record<string, unknown>>(sealed, owner) : {};
  }

  /** Backend text fit for an event or a record: no secret of the service, nor the backend's key. */
  async scrub(r: ServiceRecord, text: string, backendKey?: string): Promise<string> {
    const kinds = ["service", "backups", "recover"] as const;
    const all = await Promise.all(kinds.map((kind) => this.open(r.id, kind)));
    return scrubBackendText(text, secretNeedles(backendKey, ...all));
  }
}
