/**
 * One request at a time over a TCP connection, each reply awaited for a
 * bounded time: the base of the backend's own small clients (RESP for Redis,
 * OP_MSG for FerretDB). The port of a paused service may have been taken by
 * another program meanwhile (one that never answers, or answers in another
 * protocol), and a start must fail then, not wait forever or take the backend
 * down. A connection that failed, timed out or was closed stays failed: the
 * waiting request and every later one reject with the first error.
 */
import net from "node:net";

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Opens a connection, or rejects after `timeoutMs`. */
export function connectWithin(port: number, host: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

export abstract class RequestReply<T> {
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: T) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  protected constructor(
    private readonly socket: net.Socket,
    protected readonly peer: string,
    private readonly replyTimeoutMs: number,
    /** The protocol's name, for the error when the peer speaks another one. */
    private readonly protocol: string,
  ) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new Error(`connection to ${peer} closed`)));
  }

  /**
   * One reply from the front of `buffer`: its value and where it ends, or
   * undefined while it is incomplete. Throws on what is not the protocol.
   */
  protected abstract parse(buffer: Buffer): { value: T; end: number } | undefined;

  /** Sends `message` and resolves with the reply to it. */
  protected request(message: string | Buffer): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting) return Promise.reject(new Error("one command at a time"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new Error(`no reply from ${this.peer} within ${this.replyTimeoutMs} ms`)),
        this.replyTimeoutMs,
      );
      this.waiting = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(message, (err) => err && this.fail(err));
      this.drain();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
    this.socket.destroy();
  }

  private drain(): void {
    if (!this.waiting) return;
    let parsed: { value: T; end: number } | undefined;
    try {
      parsed = this.parse(this.buffer);
    } catch (err) {
      this.fail(new Error(`${this.peer} does not speak ${this.protocol}: ${(err as Error).message}`));
      return;
    }
    if (!parsed) return;
    this.buffer = this.buffer.subarray(parsed.end);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve(parsed.value);
  }
}
