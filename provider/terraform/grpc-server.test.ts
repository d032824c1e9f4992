import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { Status, serveGrpc, type UnaryMethod } from "./grpc-server";

/** A call through grpc-js, the reference client: raw bytes both ways. */
function call(client: grpc.Client, path: string, request: Buffer) {
  return new Promise<Buffer>((resolve, reject) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      (err, value) => (err ? reject(err) : resolve(value!)),
    ),
  );
}

describe("the unary gRPC server on node:http2", () => {
  it("answers calls, and names an unknown method and a failing handler in the gRPC status", async () => {
    const methods = new Map<string, UnaryMethod>([
      ["/test.Echo/Reverse", async (b) => Buffer.from([...b].reverse())],
      [
        "/test.Echo/Fail",
        async () => {
          throw new Error("the handler failed: ümlaut 100%");
        },
      ],
    ]);
    const server = await serveGrpc(methods);
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      expect([...(await call(client, "/test.Echo/Reverse", Buffer.from([1, 2, 3])))]).toEqual([3, 2, 1]);
      // An empty message is a valid protobuf message (all fields default).
      expect((await call(client, "/test.Echo/Reverse", Buffer.alloc(0))).length).toBe(0);
      const large = Buffer.alloc(3 * 1024 * 1024, 7);
      expect((await call(client, "/test.Echo/Reverse", large)).equals(large)).toBe(true);

      await expect(call(client, "/test.Echo/Missing", Buffer.alloc(0))).rejects.toMatchObject({
        code: Status.UNIMPLEMENTED,
        details: "unknown method /test.Echo/Missing",
      });
      await expect(call(client, "/test.Echo/Fail", Buffer.alloc(0))).rejects.toMatchObject({
        code: Status.INTERNAL,
        details: "the handler failed: ümlaut 100%",
      });
    } finally {
      client.close();
      await server.close();
    }
  });
});
