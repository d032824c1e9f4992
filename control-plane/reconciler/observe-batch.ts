/**
 * Coalesces the steps' one-service looks at a backend: ids asked of the same
 * backend within one turn of the event loop go out as one multi-id GET (the
 * contract's `GET ""?id=A&id=B`, up to 100 ids a call). Sixty-four steps
 * polling at once then make one call, not sixty-four; a failed call fails
 * each step that asked, which records it as its own.
 */
import type { BackendClient, ObservedService } from "../backends/client";

const MAX_IDS = 100;

interface Waiter {
  resolve(observed: ObservedService | undefined): void;
  reject(error: unknown): void;
}

export class ObserveBatcher {
  private pending = new Map<BackendClient, Map<string, Waiter[]>>();
  private flushing = false;

  /** What `client`'s backend reports for service `id`; undefined when it does not hold it. */
  observe(client: BackendClient, id: string): Promise<ObservedService | undefined> {
    return new Promise((resolve, reject) => {
      let byId = this.pending.get(client);
      if (!byId) {
        byId = new Map();
        this.pending.set(client, byId);
      }
      const waiters = byId.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else byId.set(id, [{ resolve, reject }]);
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushing = false;
    const batches = this.pending;
    this.pending = new Map();
    for (const [client, byId] of batches) {
      const ids = [...byId.keys()];
      for (let i = 0; i < ids.length; i += MAX_IDS) {
        const chunk = ids.slice(i, i + MAX_IDS);
        client.get(chunk).then(
          (observed) => {
            for (const id of chunk) for (const w of byId.get(id)!) w.resolve(observed[id]);
          },
          (error: unknown) => {
            for (const id of chunk) for (const w of byId.get(id)!) w.reject(error);
          },
        );
      }
    }
  }
}
