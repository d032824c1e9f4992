import { decode, ExtData, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import {
  type CtyType,
  decodeValue,
  encodeValue,
  fromJson,
  isWhollyKnown,
  UNKNOWN,
  valuesEqual,
} from "./values";

const OBJ: CtyType = ["object", { name: "string", size: "number", tags: ["map", "string"], any: "dynamic" }];

describe("Terraform values in MessagePack", () => {
  it("round-trips an object with every kind of value", () => {
    const value = { name: "db", size: 10, tags: { a: "1" }, any: { port: 5432, ready: true } };
    expect(decodeValue(OBJ, encodeValue(OBJ, value))).toEqual(value);
  });

  it("reads unknowns as Terraform sends them (d4 00 00) and writes them back the same way", () => {
    const raw = encode({ name: new ExtData(0, new Uint8Array([0])), size: 1, tags: null, any: null });
    const value = decodeValue(OBJ, raw) as Record<string, unknown>;
    expect(value.name).toBe(UNKNOWN);
    expect(isWhollyKnown(value)).toBe(false);
    const bytes = encodeValue(OBJ, value as never);
    expect(Buffer.from(bytes).includes(Buffer.from([0xd4, 0x00, 0x00]))).toBe(true);
  });

  it("treats refined unknowns (extension 12) as unknown", () => {
    const raw = encode({
      name: new ExtData(12, new Uint8Array([0x81, 0x01, 0xc3])),
      size: 1,
      tags: null,
      any: null,
    });
    expect((decodeValue(OBJ, raw) as Record<string, unknown>).name).toBe(UNKNOWN);
  });

  it("encodes dynamic values as [type JSON, value] and keeps their exact type", () => {
    const type: CtyType = ["map", "string"];
    const raw = encode({
      name: null,
      size: null,
      tags: null,
      any: [Buffer.from(JSON.stringify(type)), { k: "v" }],
    });
    const value = decodeValue(OBJ, raw) as Record<string, unknown>;
    expect(value.any).toEqual({ k: "v" });
    const again = decode(encodeValue(OBJ, value as never)) as Record<string, [Uint8Array, unknown]>;
    expect(JSON.parse(Buffer.from(again.any![0]).toString())).toEqual(type);
  });

  it("infers an object type for dynamic values from the API", () => {
    const bytes = encodeValue("dynamic", { port: 5432, host: "h", ok: true });
    const [type] = decode(bytes) as [Uint8Array, unknown];
    expect(JSON.parse(Buffer.from(type).toString())).toEqual([
      "object",
      { host: "string", ok: "bool", port: "number" },
    ]);
  });

  it("reads state JSON, where dynamic values are {value, type}", () => {
    const v = fromJson(OBJ, {
      name: "x",
      size: 2,
      any: { value: { a: 1 }, type: ["object", { a: "number" }] },
    });
    expect(v).toEqual({ name: "x", size: 2, tags: null, any: { a: 1 } });
  });

  it("compares values deeply, key order aside", () => {
    expect(valuesEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(valuesEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(valuesEqual(null, {})).toBe(false);
  });
});
