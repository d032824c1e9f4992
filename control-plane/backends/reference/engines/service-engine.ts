/**
 * One service's server, whatever the engine: its folder, port and state
 * file, and the moves between them. `converge(target)` starts, stops,
 * initializes and reconfigures until the server matches the target; it is
 * only ever called one at a time per service (EngineManager queues them).
 *
 * A server that exits without being asked to is noticed here: the exit is
 * reported to `onCrash`, which logs it and queues a converge that starts it
 * again with the same data, port and credentials.
 */
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Spec } from "../operations";
import type { Applied, Driver, Place, Target } from "./driver";
import { giveTo, type RunAs } from "./os-user";
import { freePort, launch, portFree, stopChild, stopLeftover } from "./process";

const STATE_FILE = "engine.json";
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 15_000;

/** What is kept in `engine.json` (never a secret). */
interface EngineState {
  port: number;
  initialized: boolean;
  /** The spec the server was last brought to, and what the driver applied for it. */
  spec?: Spec;
  applied?: Applied;
  /** Times the server died on its own and was started again. */
  restarts: number;
}

export interface EngineStatus {
  port: number;
  /** True while a server process is up and answered. */
  live: boolean;
  /** The version the running (or last running) server reported. */
  serverVersion?: string;
  /** The spec the server runs with (or, paused, last ran with). */
  spec?: Spec;
  secretsHash?: string;
  restarts: number;
  /** Why the server is not where it should be, safe to show. */
  error?: string;
}

export interface CrashReport {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ServiceEngine {
  private state: EngineState;
  private child: ChildProcess | undefined;
  private live = false;
  private stopping = false;
  private serverVersion: string | undefined;
  error: string | undefined;

  private constructor(
    readonly dir: string,
    readonly driver: Driver,
    private readonly runAs: RunAs | null,
    private readonly onCrash: (report: CrashReport) => void,
    state: EngineState,
  ) {
    this.state = state;
  }

  /** Opens (or creates) the engine of the service whose folder is `dir`. */
  static async open(
    dir: string,
    driver: Driver,
    runAs: RunAs | null,
    onCrash: (r: CrashReport) => void,
  ): Promise<ServiceEngine> {
    let state: EngineState | undefined;
    try {
      state = JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE), "utf8")) as EngineState;
    } catch {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      giveTo(runAs, dir);
      state = { port: await freePort(), initialized: false, restarts: 0 };
    }
    const engine = new ServiceEngine(dir, driver, runAs, onCrash, state);
    engine.save();
    return engine;
  }

  status(): EngineStatus {
    return {
      port: this.state.port,
      live: this.live,
      restarts: this.state.restarts,
      ...(this.serverVersion ? { serverVersion: this.serverVersion } : {}),
      ...(this.state.spec ? { spec: this.state.spec } : {}),
      ...(this.state.applied ? { secretsHash: this.state.applied.secretsHash } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** Counts a restart after a crash (reported in details). */
  countRestart(): void {
    this.state.restarts += 1;
    this.save();
  }

  /** Brings the server to `target`: initialized, running or stopped, configured. */
  async converge(target: Target): Promise<void> {
    let place: Place = { dir: this.dir, port: this.state.port, runAs: this.runAs };
    if (!this.state.initialized) {
      // A server a crashed backend left running in a half-made folder goes first.
      await stopLeftover(
        this.driver.pidFile(this.dir),
        this.driver.processName,
        this.driver.stopSignal,
        STOP_GRACE_MS,
      );
      await this.driver.initialize(place, target);
      this.state.initialized = true;
      this.save();
    }
    if (target.spec.pause) {
      await this.stop();
      await stopLeftover(
        this.driver.pidFile(this.dir),
        this.driver.processName,
        this.driver.stopSignal,
        STOP_GRACE_MS,
      );
      this.state.spec = target.spec;
      this.save();
      this.error = undefined;
      return;
    }
    if (!this.child) place = await this.start(place, target);
    let { applied, restart } = await this.driver.configure(place, target, this.state.applied);
    if (restart) {
      await this.stop();
      place = await this.start(place, target);
      // Settings are in the start files now; only what failed to apply would show here.
      ({ applied } = await this.driver.configure(place, target, applied));
    }
    this.state.applied = applied;
    this.state.spec = target.spec;
    this.save();
    this.error = undefined;
  }

  /** Stops the server, keeping its data. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    this.live = false;
    try {
      await stopChild(child, this.driver.stopSignal, STOP_GRACE_MS);
    } finally {
      this.child = undefined;
      this.stopping = false;
    }
  }

  /** Stops the server and removes its folder. */
  async destroy(): Promise<void> {
    await this.stop();
    await stopLeftover(
      this.driver.pidFile(this.dir),
      this.driver.processName,
      this.driver.stopSignal,
      STOP_GRACE_MS,
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts the server; resolves with where it runs (a new port when the old one was taken). */
  private async start(at: Place, target: Target): Promise<Place> {
    // A server of ours a previous backend process left running holds the port and the data: stop it first.
    await stopLeftover(
      this.driver.pidFile(this.dir),
      this.driver.processName,
      this.driver.stopSignal,
      STOP_GRACE_MS,
    );
    let place = at;
    if (!(await portFree(place.port))) {
      // Taken while the server was stopped (paused, or the backend was down): the service moves
      // to a free port (its details say which) rather than failing to start until the other
      // program lets go, or talking to that program as if it were ours.
      this.state.port = await freePort();
      this.save();
      place = { ...place, port: this.state.port };
    }
    const { file, args } = this.driver.command(place, target);
    const child = launch({
      file,
      args,
      cwd: this.dir,
      logFile: this.driver.logFile(this.dir),
      runAs: this.runAs,
    });
    this.child = child;
    let exited = false;
    child.once("error", () => {
      exited = true;
    });
    child.once("exit", (code, signal) => {
      exited = true;
      // Only a server that was up and not asked to stop has crashed; a failed start is the start's error.
      const crashed = this.live && !this.stopping && this.child === child;
      if (this.child === child) this.child = undefined;
      this.live = false;
      if (crashed) this.onCrash({ code, signal });
    });
    try {
      this.serverVersion = await this.driver.ready(place, START_TIMEOUT_MS, () => exited);
      this.live = true;
    } catch (err) {
      await this.stop();
      throw err;
    }
    return place;
  }

  private save(): void {
    const file = path.join(this.dir, STATE_FILE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(this.state), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }
}
