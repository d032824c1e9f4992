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
import type net from "node:net";
import { connectWithin, DEFAULT_CONNECT_TIMEOUT_MS, RequestReply } from "./request-reply";

export type Reply = string | number | null | Reply[] | RedisError;

export class RedisError extends Error {}

/** Long enough for any command the backend sends (BGSAVE only schedules, INFO and CONFIG SET are quick). */
const DEFAULT_REPLY_TIMEOUT_MS = 10_000;

export class RespClient extends RequestReply<Reply> {
  private constructor(socket: net.Socket, peer: string, replyTimeoutMs: number) {
    super(socket, peer, replyTimeoutMs, "RESP");
  }

  static async connect(
    port: number,
    host = "127.0.0.1",
    timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
    replyTimeoutMs = DEFAULT_REPLY_TIMEOUT_MS,
  ): Promise<RespClient> {
    return new RespClient(await connectWithin(port, host, timeoutMs), `${host}:${port}`, replyTimeoutMs);
  }

  /** Sends one command; resolves with its reply (an error reply is a RedisError value, not a rejection). */
  command(...args: string[]): Promise<Reply> {
    let out = `*${args.length}\r\n`;
    for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    return this.request(out);
  }

  /** Like command, but an error reply rejects. */
  async call(...args: string[]): Promise<Reply> {
    const r = await this.command(...args);
    if (r instanceof RedisError) throw r;
    return r;
  }

  protected parse(buffer: Buffer): { value: Reply; end: number } | undefined {
    return parse(buffer, 0);
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
