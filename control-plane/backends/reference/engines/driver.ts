/**
 * What one kind of engine (PostgreSQL, Redis) must provide so that
 * `ServiceEngine` (./service-engine.ts) can run a service on it: create its
 * files once, start it, say when it answers, and bring a running server to
 * the service's current config and secrets.
 */
import type { Spec, Values } from "../operations";
import type { RunAs } from "./os-user";

/** What a service should run as: its spec, its config with defaults filled in, and its secrets. */
export interface Target {
  spec: Spec;
  config: Values;
  secrets: Values;
}

/** What the driver last applied, kept in the service's engine state (never a secret). */
export interface Applied {
  /** Hash of the secrets, so a rotation is noticed without keeping them. */
  secretsHash: string;
  /** Server settings derived from config and plan, as last applied. */
  settings: Record<string, string>;
}

export interface Place {
  /** The service's own folder under the backend's data dir. */
  dir: string;
  port: number;
  runAs: RunAs | null;
}

export interface Driver {
  /** For logs and errors, e.g. "PostgreSQL 16". */
  readonly label: string;
  /** The version of the binary, e.g. "16.13". */
  readonly version: string;
  /** Signal that shuts the server down cleanly, keeping its data. */
  readonly stopSignal: NodeJS.Signals;
  /** Text in the command line of the server process (to recognise one left running). */
  readonly processName: string;
  pidFile(dir: string): string;
  logFile(dir: string): string;
  /** Creates the data files; the server is not running. */
  initialize(place: Place, target: Target): Promise<void>;
  /** Writes what the server reads at start and says how to start it. */
  command(place: Place, target: Target): { file: string; args: string[] };
  /** Resolves with the running server's version once it answers; rejects after `timeoutMs`. */
  ready(place: Place, timeoutMs: number, exited: () => boolean): Promise<string>;
  /**
   * Brings the running server to `target`: roles, passwords, settings.
   * `previous` is what was applied before (undefined on the first start).
   * Returns the new applied record and whether a restart must follow.
   */
  configure(
    place: Place,
    target: Target,
    previous: Applied | undefined,
  ): Promise<{ applied: Applied; restart: boolean }>;
  /** The settings a target asks for (to compare with what is applied). */
  settings(target: Target): Record<string, string>;
}
