/**
 * Just enough of the MongoDB wire protocol to talk to a MongoDB-compatible
 * server without a driver: BSON for the types commands use, OP_MSG over
 * node:net, and SCRAM-SHA-256 authentication (RFC 5802/7677). The FerretDB
 * engine manages its users with it (./ferretdb.ts); the tests say `hello`,
 * log in, insert and find with it.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
import type net from "node:net";
import { connectWithin, DEFAULT_CONNECT_TIMEOUT_MS, RequestReply } from "./request-reply";

export type Bson = { [key: string]: BsonValue };
export type BsonValue = string | number | boolean | null | Buffer | BsonValue[] | Bson | { $oid: string };

function encodeDocument(doc: Bson | BsonValue[]): Buffer {
  const parts: Buffer[] = [];
  const entries = Array.isArray(doc) ? doc.map((v, i) => [String(i), v] as const) : Object.entries(doc);
  for (const [key, value] of entries) {
    const name = Buffer.concat([Buffer.from(key, "utf8"), Buffer.from([0])]);
    const typed = (type: number, body: Buffer) => parts.push(Buffer.from([type]), name, body);
    if (typeof value === "string") {
      const bytes = Buffer.from(value, "utf8");
      const len = Buffer.alloc(4);
      len.writeInt32LE(bytes.length + 1);
      typed(0x02, Buffer.concat([len, bytes, Buffer.from([0])]));
    } else if (typeof value === "number") {
      if (Number.isInteger(value) && Math.abs(value) < 2 ** 31) {
        const b = Buffer.alloc(4);
        b.writeInt32LE(value);
        typed(0x10, b);
      } else {
        const b = Buffer.alloc(8);
        b.writeDoubleLE(value);
        typed(0x01, b);
      }
    } else if (typeof value === "boolean") typed(0x08, Buffer.from([value ? 1 : 0]));
    else if (value === null) typed(0x0a, Buffer.alloc(0));
    else if (Buffer.isBuffer(value)) {
      const len = Buffer.alloc(4);
      len.writeInt32LE(value.length);
      typed(0x05, Buffer.concat([len, Buffer.from([0]), value]));
    } else if (Array.isArray(value)) typed(0x04, encodeDocument(value));
    else typed(0x03, encodeDocument(value as Bson));
  }
  const body = Buffer.concat(parts);
  const out = Buffer.alloc(4 + body.length + 1);
  out.writeInt32LE(out.length);
  body.copy(out, 4);
  return out;
}

function decodeDocument(buf: Buffer, start: number, asArray = false): Bson | BsonValue[] {
  const end = start + buf.readInt32LE(start) - 1;
  const doc: Bson = {};
  const list: BsonValue[] = [];
  let at = start + 4;
  while (at < end) {
    const type = buf[at]!;
    const nameEnd = buf.indexOf(0, at + 1);
    const key = buf.toString("utf8", at + 1, nameEnd);
    at = nameEnd + 1;
    let value: BsonValue;
    switch (type) {
      case 0x01:
        value = buf.readDoubleLE(at);
        at += 8;
        break;
      case 0x02: {
        const len = buf.readInt32LE(at);
        value = buf.toString("utf8", at + 4, at + 4 + len - 1);
        at += 4 + len;
        break;
      }
      case 0x03:
      case 0x04:
        value = decodeDocument(buf, at, type === 0x04);
        at += buf.readInt32LE(at);
        break;
      case 0x05: {
        const len = buf.readInt32LE(at);
        value = Buffer.from(buf.subarray(at + 5, at + 5 + len));
        at += 5 + len;
        break;
      }
      case 0x07:
        value = { $oid: buf.toString("hex", at, at + 12) };
        at += 12;
        break;
      case 0x08:
        value = buf[at] === 1;
        at += 1;
        break;
      case 0x09:
      case 0x11:
      case 0x12:
        value = Number(buf.readBigInt64LE(at));
        at += 8;
        break;
      case 0x0a:
        value = null;
        break;
      case 0x10:
        value = buf.readInt32LE(at);
        at += 4;
        break;
      default:
        throw new Error(`BSON type 0x${type.toString(16)} is not supported here`);
    }
    if (asArray) list.push(value);
    else doc[key] = value;
  }
  return asArray ? list : doc;
}

/** Long enough for any command the backend sends (user management, hello). */
const DEFAULT_REPLY_TIMEOUT_MS = 10_000;

export interface WireTimeouts {
  /** How long the connection may take to open. */
  connectMs?: number;
  /** How long each command's reply may take. */
  replyMs?: number;
}

/** One connection speaking OP_MSG, one command at a time, every wait bounded (./request-reply.ts). */
export class MongoWire extends RequestReply<Buffer> {
  private nextId = 1;

  private constructor(socket: net.Socket, peer: string, replyTimeoutMs: number) {
    super(socket, peer, replyTimeoutMs, "the MongoDB wire protocol");
  }

  static async connect(port: number, host = "127.0.0.1", timeouts: WireTimeouts = {}): Promise<MongoWire> {
    const socket = await connectWithin(port, host, timeouts.connectMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    return new MongoWire(socket, `${host}:${port}`, timeouts.replyMs ?? DEFAULT_REPLY_TIMEOUT_MS);
  }

  /** Runs one command against `db`; resolves with the reply document (ok: 0 replies too). */
  async command(db: string, cmd: Bson): Promise<Bson> {
    const body = encodeDocument({ ...cmd, $db: db });
    const header = Buffer.alloc(16 + 4 + 1);
    header.writeInt32LE(header.length + body.length, 0);
    header.writeInt32LE(this.nextId++, 4);
    header.writeInt32LE(0, 8);
    header.writeInt32LE(2013, 12); // OP_MSG
    header.writeUInt32LE(0, 16); // flags
    header[20] = 0; // section kind 0: the body
    const reply = await this.request(Buffer.concat([header, body]));
    if (reply.length < 21 || reply.readInt32LE(12) !== 2013 || reply[20] !== 0) {
      throw new Error(`${this.peer} does not answer in OP_MSG`);
    }
    return decodeDocument(reply, 21) as Bson;
  }

  /** SCRAM-SHA-256 login; rejects with the server's message when refused. */
  async login(user: string, password: string, db = "admin"): Promise<void> {
    const nonce = randomBytes(18).toString("base64");
    const firstBare = `n=${user.replace(/=/g, "=3D").replace(/,/g, "=2C")},r=${nonce}`;
    const start = await this.command(db, {
      saslStart: 1,
      mechanism: "SCRAM-SHA-256",
      payload: Buffer.from(`n,,${firstBare}`),
      autoAuthorize: 1,
    });
    if (start.ok !== 1) throw new Error(`saslStart refused: ${String(start.errmsg)}`);
    const serverFirst = (start.payload as Buffer).toString();
    const fields = Object.fromEntries(serverFirst.split(",").map((kv) => [kv[0], kv.slice(2)]));
    if (!String(fields.r).startsWith(nonce)) throw new Error("server nonce does not extend ours");
    const salted = pbkdf2Sync(
      password.normalize("NFKC"),
      Buffer.from(String(fields.s), "base64"),
      Number(fields.i),
      32,
      "sha256",
    );
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const finalBare = `c=biws,r=${fields.r}`;
    const authMessage = `${firstBare},${serverFirst},${finalBare}`;
    const signature = createHmac("sha256", storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString("base64");
    let step = await this.command(db, {
      saslContinue: 1,
      conversationId: start.conversationId as number,
      payload: Buffer.from(`${finalBare},p=${proof}`),
    });
    if (step.ok !== 1) throw new Error(`login refused: ${String(step.errmsg)}`);
    while (step.done !== true) {
      step = await this.command(db, {
        saslContinue: 1,
        conversationId: start.conversationId as number,
        payload: Buffer.alloc(0),
      });
      if (step.ok !== 1) throw new Error(`login refused: ${String(step.errmsg)}`);
    }
  }

  protected parse(buffer: Buffer): { value: Buffer; end: number } | undefined {
    if (buffer.length < 4) return undefined;
    const len = buffer.readInt32LE(0);
    // A message is at least its 16-byte header.
    if (len < 16) throw new Error(`a message of ${len} bytes`);
    if (buffer.length < len) return undefined;
    return { value: Buffer.from(buffer.subarray(0, len)), end: len };
  }
}
