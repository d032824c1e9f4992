/**
 * Create intents: a small journal that lets a create which was cut short
 * (the CLI killed while waiting) be recognised when it runs again.
 *
 * An IaC engine records a resource only when create returns; if the process
 * dies while the service is still being set up, the service exists but the
 * state does not know it, and the next run's create meets "name already
 * taken". Service names are unique per team, so no duplicate can appear, but
 * the run would not converge either. Before sending the create, the provider
 * writes an intent (API, team, name, its process id, the time) to a local
 * folder, adds the service id once the API answered, and removes the intent
 * when create returns. A later create that meets its own name may take the
 * service over only if an intent for it is left by a process that is gone
 * and the ids match (or, when the answer never arrived, the service was
 * created within moments of the intent). Anything else still fails and
 * names `adopt` as the way to take a service over on purpose.
 *
 * The file steps are synchronous: an intent is a few hundred bytes on a local
 * disk, written in microseconds, and the create waits for the first write
 * anyway. Through libuv's thread pool each step took several event-loop turns,
 * 10 to 20 ms of every create while eight ran at once in a Pulumi provider.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as schemas from "../../sdk/schemas";
import { processAlive } from "./processes";

export interface CreateIntent {
  apiUrl: string;
  teamId: number;
  name: string;
  /** Process that sent the create. */
  pid: number;
  /** When the create was about to be sent (ms since epoch). */
  startedAt: number;
  /** The service id, once the API answered. */
  serviceId?: string;
}

/** How far the API's clock and ours may disagree, and how long a create request may take. */
const CREATED_WITHIN_MS = 2 * 60_000;
/** Intents older than this are ignored and cleaned up. */
const MAX_AGE_MS = 7 * 24 * 3_600_000;

/** Folders made (or found) by this process: one mkdir per folder, not one per write. */
const madeDirs = new Set<string>();

export class CreateIntents {
  constructor(readonly dir: string) {}

  private file(apiUrl: string, teamId: number, name: string): string {
    const key = createHash("sha256").update(`${apiUrl}\0${teamId}\0${name}`).digest("hex").slice(0, 32);
    return path.join(this.dir, `${key}.json`);
  }

  /** Records that a create is about to be sent. */
  begin(apiUrl: string, teamId: number, name: string, now = Date.now()): CreateIntent {
    const intent: CreateIntent = { apiUrl, teamId, name, pid: process.pid, startedAt: now };
    this.write(intent);
    return intent;
  }

  /** Records the id the API gave the service. */
  created(intent: CreateIntent, serviceId: string): void {
    intent.serviceId = serviceId;
    this.write(intent);
  }

  /** The create returned (or failed for sure): nothing is left to recognise. */
  end(intent: Pick<CreateIntent, "apiUrl" | "teamId" | "name">): void {
    fs.rmSync(this.file(intent.apiUrl, intent.teamId, intent.name), { force: true });
  }

  /**
   * The intent an interrupted create left for this API, team and name: one
   * written by a process that is gone. Read it before `begin`, which
   * replaces it.
   */
  leftBehind(apiUrl: string, teamId: number, name: string): CreateIntent | undefined {
    const intent = this.read(apiUrl, teamId, name);
    if (!intent || intent.pid === process.pid || processAlive(intent.pid)) return undefined;
    return intent;
  }

  /**
   * Whether `existing` is the service the interrupted create behind `intent`
   * made: the ids match, or, when the API's answer never arrived, the
   * service was created within moments of the intent.
   */
  static madeBy(intent: CreateIntent, existing: schemas.ManagedService): boolean {
    if (intent.name !== existing.name) return false;
    if (intent.serviceId !== undefined) return intent.serviceId === existing.id;
    const created = Date.parse(existing.createdAt);
    return Math.abs(created - intent.startedAt) <= CREATED_WITHIN_MS;
  }

  private read(apiUrl: string, teamId: number, name: string): CreateIntent | undefined {
    const file = this.file(apiUrl, teamId, name);
    let intent: CreateIntent;
    try {
      intent = JSON.parse(fs.readFileSync(file, "utf8")) as CreateIntent;
    } catch {
      return undefined;
    }
    if (intent.apiUrl !== apiUrl || intent.teamId !== teamId || intent.name !== name) return undefined;
    if (Date.now() - intent.startedAt > MAX_AGE_MS) {
      fs.rmSync(file, { force: true });
      return undefined;
    }
    return intent;
  }

  private write(intent: CreateIntent): void {
    const file = this.file(intent.apiUrl, intent.teamId, intent.name);
    // Write then rename: a reader never sees half a file, even if we die mid-write.
    const tmp = `${file}.${process.pid}.tmp`;
    const text = JSON.stringify(intent);
    if (!madeDirs.has(this.dir)) this.makeDir();
    try {
      fs.writeFileSync(tmp, text, { mode: 0o600 });
    } catch (error) {
      // The folder was removed since this process made it.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      this.makeDir();
      fs.writeFileSync(tmp, text, { mode: 0o600 });
    }
    fs.renameSync(tmp, file);
  }

  private makeDir(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    madeDirs.add(this.dir);
  }
}
