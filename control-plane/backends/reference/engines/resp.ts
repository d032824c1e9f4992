/**
 * A minimal Redis client (RESP2 over TCP): enough for the backend to
 * authenticate, check and reconfigure the servers it runs, and for tests to
 * talk to them. One command at a time per connection.
 *
 * A reply is awaited for `replyTimeoutMs` at most, and anything that is not
 * RESP ends the connection with an error: the port of a paused service may
 * have been taken by another program meanwhile (one that never answers, or
 * answers in another protocol), and a start must fail then, not wait forever
 * or take the backend down.
 */
import net from "node:net";

export type Reply = string | number | null | Reply[] | RedisError;

export class RedisError extends Error {}

/** Long enough for any command the backend sends (BGSAVE only schedules, INFO and CONFIG SET are quick). */
const DEFAULT_REPLY_TIMEOUT_MS = 10_000;

export class RespClient {
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private closedError: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly peer: string,
    private readonly replyTimeoutMs: number,
  ) {
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      try {
        this.drain();
      } catch (err) {
        this.fail(new Error(`${peer} does not speak RESP: ${(err as Error).message}`));
      }
    });
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new Error("connection closed")));
  }

  static connect(
    port: number,
    host = "127.0.0.1",
    timeoutMs = 5_000,
    replyTimeoutMs = DEFAULT_REPLY_TIMEOUT_MS,
  ): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer from ${host}:${port}`));
      }, timeoutMs);
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new RespClient(socket, `${host}:${port}`, replyTimeoutMs));
      });
    });
  }

  /** Sends one command; resolves with its reply (an error reply is a RedisError value, not a rejection). */
  command(...args: string[]): Promise<Reply> {
    if (this.closedError) return Promise.reject(this.closedError);
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
      let out = `*${args.length}\r\n`;
      for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
      this.socket.write(out);
    });
  }

  /** Like command, but an error reply rejects. */
  async call(...args: string[]): Promise<Reply> {
    const r = await this.command(...args);
    if (r instanceof RedisError) throw r;
    return r;
  }

  close(): void {
    this.socket.destroy();
  }

  /** Ends the connection: the command waiting (if any) and every later one reject with `err`. */
  private fail(err: Error): void {
    this.closedError ??= err;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
    this.socket.destroy();
  }

  private drain(): void {
    if (!this.waiting) return;
    const parsed = parse(this.buffer, 0);
    if (!parsed) return;
    this.buffer = this.buffer.subarray(parsed.end);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve(parsed.value);
  }
}

function parse(buf: Buffer, at: number): { value: Reply; end: number } | undefined {
  const nl = buf.indexOf("\r\n", at);
  if (nl < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString("utf8", at + 1, nl);
  const next = nl + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RedisError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const len = Number(line);
      if (len < 0) return { value: null, end: next };
      if (buf.length < next + len + 2) return undefined;
      return { value: buf.toString("utf8", next, next + len), end: next + len + 2 };
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return { value: null, end: next };
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`unexpected reply type ${JSON.stringify(type)}`);
  }
}
