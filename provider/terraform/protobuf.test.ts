import { describe, expect, it } from "vitest";
import { Codec } from "./protobuf";
import { registry } from "./protocol";

const codec = new Codec(registry);

describe("the protobuf codec", () => {
  it("round-trips a schema response with maps, repeated messages and bytes", () => {
    const message = {
      provider: {
        version: 0,
        block: { attributes: [{ name: "api_url", type: Buffer.from('"string"'), optional: true }] },
      },
      resourceSchemas: {
        codesphere_managed_service: {
          version: 0,
          block: {
            attributes: [
              { name: "secrets", type: Buffer.from('"dynamic"'), writeOnly: true, sensitive: true },
            ],
          },
        },
      },
      serverCapabilities: { getProviderSchemaOptional: true, planDestroy: true },
    };
    const decoded = codec.decode(
      "GetProviderSchema.Response",
      codec.encode("GetProviderSchema.Response", message),
    );
    expect(decoded.serverCapabilities).toEqual({ getProviderSchemaOptional: true, planDestroy: true });
    const attr = decoded.resourceSchemas.codesphere_managed_service.block.attributes[0];
    expect(attr.name).toBe("secrets");
    expect(attr.writeOnly).toBe(true);
    expect(Buffer.from(attr.type).toString()).toBe('"dynamic"');
  });

  it("writes write_only as field 11 and skips fields it does not know", () => {
    const bytes = codec.encode("Schema.Attribute", { name: "x", writeOnly: true });
    expect(bytes.includes(Buffer.from([11 << 3, 1]))).toBe(true);
    const withUnknown = Buffer.concat([
      bytes,
      Buffer.from([(99 << 3) | 2, 0x82, 0x01]),
      Buffer.alloc(2),
      Buffer.alloc(128),
    ]);
    expect(codec.decode("Schema.Attribute", withUnknown.subarray(0, bytes.length))).toMatchObject({
      name: "x",
      writeOnly: true,
    });
  });

  it("reads client capabilities from a plan request", () => {
    const bytes = codec.encode("PlanResourceChange.Request", {
      typeName: "codesphere_managed_service",
      clientCapabilities: { writeOnlyAttributesAllowed: true },
      priorPrivate: Buffer.from("p"),
    });
    const req = codec.decode("PlanResourceChange.Request", bytes);
    expect(req.clientCapabilities.writeOnlyAttributesAllowed).toBe(true);
    expect(Buffer.from(req.priorPrivate).toString()).toBe("p");
  });

  it("encodes negative and large int64 values", () => {
    const bytes = codec.encode("AttributePath.Step", { elementKeyInt: -1 });
    expect(codec.decode("AttributePath.Step", bytes).elementKeyInt).toBe(-1);
    const big = codec.encode("AttributePath.Step", { elementKeyInt: 2 ** 40 });
    expect(codec.decode("AttributePath.Step", big).elementKeyInt).toBe(2 ** 40);
  });
});
