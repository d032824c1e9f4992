/**
 * The control plane's side of the provider backend contract
 * (contract/provider-backend-contract.md): REST over HTTP with the provider's
 * key. It knows nothing about retries or status; the reconciler owns those.
 */
import { Agent, request } from "undici";
import { scrubBackendText, secretNeedles } from "./scrub";

export type Values = Record<string, unknown>;

/** What a backend reports for one service (`GET ""?id=...`). */
export interface ObservedService {
  plan: { parameters: Record<string, number> };
  config: Values;
  details: Values;
  /** Reference-backend extension: the pause state the backend has reached. */
  pause?: boolean;
  error?: string;
}

export interface CreateBody {
  id: string;
  teamId: number;
  plan: { parameters: Record<string, number> };
  config: Values;
  secrets: Values;
  pause?: boolean;
  recoverFrom?: { id?: string; msId?: string; time?: string; config: Values; secrets: Values };
}

export interface PatchBody {
  id: string;
  teamId: number;
  plan?: { parameters: Record<string, number> };
  config?: Values;
  secrets?: Values;
  pause?: boolean;
}

export interface BackupBody {
  msId: string;
  teamId: number;
  config: Values;
  secrets: Values;
  retentionDays?: number;
}

/** A backend answered with an error, or could not be reached (`status` 0). */
export class BackendError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "BackendError";
  }
  /** The backend could not be reached at all (network error, timeout). */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

export interface BackendClientOptions {
  endpoint: string;
  key?: string;
  timeoutMs?: number;
  dispatcher?: Agent;
}

const sharedAgent = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

/** Largest answer read from a backend; observed state of many services fits well within. */
export const MAX_BACKEND_BODY_BYTES = 16 * 1024 * 1024;
/** Of an error answer only the start is read: it is cut to a short message anyway. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class BackendClient {
  private readonly base: string;
  constructor(private readonly o: BackendClientOptions) {
    this.base = o.endpoint.replace(/\/+$/, "");
  }

  async list(): Promise<string[]> {
    return (await this.call<string[]>("GET", "")) ?? [];
  }

  /** Observed state of the given services; ids the backend does not hold are absent. */
  async get(ids: string[]): Promise<Record<string, ObservedService>> {
    const query = ids.map((id) => `id=${encodeURIComponent(id)}`).join("&");
    return (await this.call<Record<string, ObservedService>>("GET", `?${query}`)) ?? {};
  }

  async create(body: CreateBody): Promise<void> {
    await this.call("POST", "", body);
  }

  async patch(body: PatchBody): Promise<void> {
    await this.call("PATCH", `/${encodeURIComponent(body.id)}`, body);
  }

  async delete(id: string): Promise<void> {
    await this.call("DELETE", `/${encodeURIComponent(id)}`);
  }

  async startBackup(backupId: string, body: BackupBody): Promise<void> {
    await this.call("PUT", `/backups/${encodeURIComponent(backupId)}`, body);
  }

  async backupStatus(backupId: string, body: BackupBody): Promise<{ exists: boolean; error?: string }> {
    return (
      (await this.call<{ exists: boolean; error?: string }>(
        "POST",
        `/backups/${encodeURIComponent(backupId)}/status`,
        body,
      )) ?? { exists: false }
    );
  }

  async deleteBackup(backupId: string, body: BackupBody): Promise<void> {
    await this.call("DELETE", `/backups/${encodeURIComponent(backupId)}`, body);
  }

  private async call<T>(
    method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
  ): Promise<T | undefined> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.o.key) headers["x-api-key"] = this.o.key;
    if (body !== undefined) headers["content-type"] = "application/json";
    const timeout = this.o.timeoutMs ?? 10_000;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.o.dispatcher ?? sharedAgent,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new BackendError(0, `backend unreachable (${this.safe(code ?? (error as Error).message, body)})`);
    }
    const failed = res.statusCode >= 400;
    const limit = failed ? MAX_ERROR_BODY_BYTES : MAX_BACKEND_BODY_BYTES;
    let text: string;
    try {
      text = await readCapped(res.body, limit, !failed);
    } catch (error) {
      if (error instanceof BackendError) throw error;
      throw new BackendError(502, `backend answer broke off (${this.safe((error as Error).message, body)})`);
    }
    if (failed) {
      let message = text;
      try {
        const parsed = JSON.parse(text) as { error?: unknown };
        if (typeof parsed.error === "string") message = parsed.error;
      } catch {
        // not JSON: keep the text
      }
      throw new BackendError(
        res.statusCode,
        `backend answered ${res.statusCode} to ${method}: ${this.safe(message, body)}`,
      );
    }
    if (text.length === 0) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new BackendError(502, `backend answered ${method} with a body that is not JSON`);
    }
  }

  /** Backend text with this call's key and the secrets it sent removed, cut short (see scrub.ts). */
  private safe(text: string, body: unknown): string {
    const sent = body as { secrets?: unknown; recoverFrom?: { secrets?: unknown } } | undefined;
    return scrubBackendText(text, secretNeedles(this.o.key, sent?.secrets, sent?.recoverFrom?.secrets));
  }
}

/** One client per backend address (endpoint and key), made on first use. */
export class BackendClients {
  private readonly byAddress = new Map<string, BackendClient>();

  for(endpoint: string, key?: string): BackendClient {
    const address = `${endpoint}\n${key ?? ""}`;
    let c = this.byAddress.get(address);
    if (!c) {
      c = new BackendClient({ endpoint, ...(key ? { key } : {}) });
      this.byAddress.set(address, c);
    }
    return c;
  }
}

/**
 * Reads at most `limit` bytes of an answer. Past it, an error answer is cut
 * (only its start is shown), while a success answer is refused: half a
 * document is not one.
 */
async function readCapped(
  stream: AsyncIterable<Buffer> & { destroy(): unknown },
  limit: number,
  refuseLonger: boolean,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      if (refuseLonger) throw new BackendError(502, `backend answered with more than ${limit} bytes`);
      chunks.push(chunk.subarray(0, chunk.length - (size - limit)));
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
