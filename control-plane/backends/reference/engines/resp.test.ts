/**
 * The RESP client against peers that are not Redis: the port of a paused
 * service may be held by another program when it starts again, and the
 * backend must get an error it can act on, never a wait without end or an
 * exception that takes the process down.
 */
import type net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Peers } from "../../../../test/support/peers";
import { RedisError, RespClient } from "./resp";

const peers = new Peers();
const peer = (onConnection: (socket: net.Socket) => void) => peers.listen(onConnection);

afterEach(() => peers.close());

describe("RespClient", () => {
  it("reads replies of each type from a peer that speaks RESP", async () => {
    const port = await peer((socket) => {
      socket.once("data", () => socket.write("*3\r\n+OK\r\n:42\r\n$5\r\nhello\r\n"));
    });
    const c = await RespClient.connect(port);
    try {
      expect(await c.call("ANY")).toEqual(["OK", 42, "hello"]);
    } finally {
      c.close();
    }
  });

  it("rejects an error reply as RedisError with call, returns it with command", async () => {
    const port = await peer((socket) => socket.on("data", () => socket.write("-WRONGPASS invalid\r\n")));
    const c = await RespClient.connect(port);
    try {
      expect(await c.command("AUTH", "x")).toBeInstanceOf(RedisError);
      await expect(c.call("AUTH", "x")).rejects.toThrow("WRONGPASS");
    } finally {
      c.close();
    }
  });

  it("gives up on a peer that accepts and never answers", async () => {
    const port = await peer(() => {});
    const c = await RespClient.connect(port, "127.0.0.1", 5_000, 300);
    const started = Date.now();
    await expect(c.call("AUTH", "landform_admin", "pw")).rejects.toThrow(
      `no reply from 127.0.0.1:${port} within 300 ms`,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    // The connection is done with: later commands fail at once.
    await expect(c.call("PING")).rejects.toThrow("no reply");
  });

  it("rejects (does not throw from the socket) when the peer speaks another protocol", async () => {
    const port = await peer((socket) =>
      socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")),
    );
    const c = await RespClient.connect(port);
    await expect(c.call("AUTH", "landform_admin", "pw")).rejects.toThrow(
      `127.0.0.1:${port} does not speak RESP: unexpected reply type "H"`,
    );
  });
});
