/**
 * A small proto3 codec for the few messages the plugin speaks, driven by
 * field tables (see ./protocol.ts). Hand-written rather than generated so the
 * plugin process loads no protobuf library: Terraform starts a new plugin
 * process for every phase, and start-up time is what users wait for.
 *
 * Supported: varint scalars (int32/int64/bool/enum), string, bytes, nested
 * messages, `repeated` (packed varints are read too), and `map<string, T>`.
 * Unknown fields are skipped, so newer clients stay compatible.
 */

export type Scalar = "string" | "bytes" | "bool" | "int64" | "int32" | "enum";

/** One field: its number and kind (a scalar or the name of a message). */
export interface FieldSpec {
  id: number;
  type: Scalar | string;
  repeated?: boolean;
  /** `map<string, type>`: the value's kind. */
  map?: boolean;
}

export type MessageSpec = Record<string, FieldSpec>;
export type Registry = Record<string, MessageSpec>;

// biome-ignore lint/suspicious/noExplicitAny: decoded messages are plain objects typed at the call site
export type Message = Record<string, any>;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const SCALARS = new Set<string>(["string", "bytes", "bool", "int64", "int32", "enum"]);

class Writer {
  private chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.chunks.push(this.buf.subarray(0, this.pos));
    this.buf = Buffer.allocUnsafe(Math.max(256, n));
    this.pos = 0;
  }

  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    if (v < 0x80n) {
      this.ensure(1);
      this.buf[this.pos++] = Number(v);
      return;
    }
    this.ensure(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  tag(id: number, wire: number): void {
    this.varint((id << 3) | wire);
  }

  bytes(data: Uint8Array): void {
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  finish(): Buffer {
    this.chunks.push(this.buf.subarray(0, this.pos));
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly end = buf.length,
  ) {}

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error("protobuf: truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  }

  small(): number {
    // Tags and lengths: fast path without BigInt.
    let result = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error("protobuf: truncated varint");
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  }

  slice(): Buffer {
    const len = this.small();
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new Error("protobuf: truncated field");
    return this.buf.subarray(start, this.pos);
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.pos += 8;
    else if (wire === WIRE_LEN) this.slice();
    else if (wire === WIRE_I32) this.pos += 4;
    else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
}

export class Codec {
  constructor(private readonly registry: Registry) {}

  private spec(name: string): MessageSpec {
    const spec = this.registry[name];
    if (!spec) throw new Error(`protobuf: unknown message ${name}`);
    return spec;
  }

  encode(name: string, message: Message): Buffer {
    const w = new Writer();
    this.write(w, name, message);
    return w.finish();
  }

  decode(name: string, data: Buffer): Message {
    return this.read(new Reader(data), name);
  }

  private write(w: Writer, name: string, message: Message): void {
    const spec = this.spec(name);
    for (const [key, field] of Object.entries(spec)) {
      const value = message[key];
      if (value === undefined || value === null) continue;
      if (field.map) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          const entry = new Writer();
          entry.tag(1, WIRE_LEN);
          entry.bytes(Buffer.from(k, "utf8"));
          this.writeOne(entry, 2, field.type, v);
          w.tag(field.id, WIRE_LEN);
          w.bytes(entry.finish());
        }
      } else if (field.repeated) {
        for (const v of value as unknown[]) this.writeOne(w, field.id, field.type, v, true);
      } else {
        this.writeOne(w, field.id, field.type, value);
      }
    }
  }

  private writeOne(w: Writer, id: number, type: string, value: unknown, always = false): void {
    switch (type) {
      case "string":
        if (value === "" && !always) return;
        w.tag(id, WIRE_LEN);
        w.bytes(Buffer.from(value as string, "utf8"));
        return;
      case "bytes": {
        const b = value as Uint8Array;
        if (b.length === 0 && !always) return;
        w.tag(id, WIRE_LEN);
        w.bytes(b);
        return;
      }
      case "bool":
        if (!value && !always) return;
        w.tag(id, WIRE_VARINT);
        w.varint(value ? 1 : 0);
        return;
      case "int64":
      case "int32":
      case "enum":
        if (!value && !always) return;
        w.tag(id, WIRE_VARINT);
        w.varint(value as number | bigint);
        return;
      default: {
        const sub = new Writer();
        this.write(sub, type, value as Message);
        w.tag(id, WIRE_LEN);
        w.bytes(sub.finish());
      }
    }
  }

  private read(r: Reader, name: string): Message {
    const spec = this.spec(name);
    const byId = fieldsById(spec);
    const out: Message = {};
    while (r.pos < r.end) {
      const tag = r.small();
      const id = Math.floor(tag / 8);
      const wire = tag & 7;
      const hit = byId.get(id);
      if (!hit) {
        r.skip(wire);
        continue;
      }
      const [key, field] = hit;
      if (field.map) {
        const slice = r.slice();
        const er = new Reader(slice);
        let k = "";
        let v: unknown;
        while (er.pos < er.end) {
          const t = er.small();
          if (t >> 3 === 1) k = er.slice().toString("utf8");
          else if (t >> 3 === 2) v = this.readOne(er, field.type, t & 7);
          else er.skip(t & 7);
        }
        out[key] ??= {};
        out[key][k] = v ?? (SCALARS.has(field.type) ? undefined : {});
      } else if (field.repeated) {
        out[key] ??= [];
        if (
          wire === WIRE_LEN &&
          SCALARS.has(field.type) &&
          field.type !== "string" &&
          field.type !== "bytes"
        ) {
          const packed = new Reader(r.slice());
          while (packed.pos < packed.end) out[key].push(this.readOne(packed, field.type, WIRE_VARINT));
        } else {
          out[key].push(this.readOne(r, field.type, wire));
        }
      } else {
        out[key] = this.readOne(r, field.type, wire);
      }
    }
    return out;
  }

  private readOne(r: Reader, type: string, wire: number): unknown {
    switch (type) {
      case "string":
        return r.slice().toString("utf8");
      case "bytes":
        return Buffer.from(r.slice());
      case "bool":
        return r.varint() !== 0n;
      case "int64":
      case "int32":
      case "enum":
        return Number(BigInt.asIntN(64, r.varint()));
      default:
        if (wire !== WIRE_LEN) throw new Error(`protobuf: expected a message for ${type}`);
        return this.read(new Reader(r.slice()), type);
    }
  }
}

const byIdCache = new WeakMap<MessageSpec, Map<number, [string, FieldSpec]>>();
function fieldsById(spec: MessageSpec): Map<number, [string, FieldSpec]> {
  let m = byIdCache.get(spec);
  if (!m) {
    m = new Map(Object.entries(spec).map(([k, f]) => [f.id, [k, f]]));
    byIdCache.set(spec, m);
  }
  return m;
}
