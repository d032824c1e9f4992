import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendClient, BackendError } from "./client";
import { MAX_BACKEND_TEXT, scrubBackendText, secretNeedles } from "./scrub";

describe("scrubBackendText", () => {
  it("removes every secret value, also JSON-escaped and percent-encoded", () => {
    const secrets = { userPassword: 'pa"ss w/rd', nested: { token: "s3cr3t-token" } };
    const text = `auth failed for "pa\\"ss w/rd" (pa%22ss%20w%2Frd) and pa"ss w/rd; token s3cr3t-token`;
    const out = scrubBackendText(text, secretNeedles(secrets));
    expect(out).not.toContain("pa");
    expect(out).not.toContain("s3cr3t");
    expect(out).toBe('auth failed for "[redacted]" ([redacted]) and [redacted]; token [redacted]');
  });

  it("removes the backend key, bearer tokens, named credentials and URL passwords", () => {
    const out = scrubBackendText(
      'key k-123456789 refused; Authorization: Bearer abcdefghijkl; password=hunter22 apiKey: "zzz999" at postgres://app:pw0rd@db:5432',
      secretNeedles("k-123456789"),
    );
    for (const leaked of ["k-123456789", "abcdefghijkl", "hunter22", "zzz999", "pw0rd"]) {
      expect(out).not.toContain(leaked);
    }
    expect(out).toContain("Bearer [redacted]");
    expect(out).toContain("postgres://app:[redacted]@db:5432");
  });

  it("never lets control characters reassemble a secret or reach the reader", () => {
    const out = scrubBackendText(
      "top\u0000secret\u001b[31m red\u202e txet\r\nnext",
      secretNeedles("topsecret"),
    );
    expect(out).toBe("top secret [31m red txet next");
    const control = [...out].filter((c) => {
      const code = c.charCodeAt(0);
      return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e);
    });
    expect(control).toEqual([]);
    // A secret that itself holds a control character is found in its cleaned form too.
    expect(scrubBackendText("x a b y", secretNeedles("a\u0007b"))).toBe("x [redacted] y");
  });

  it("caps the text with an ellipsis, without splitting a surrogate pair", () => {
    const out = scrubBackendText("e".repeat(10_000));
    expect(out).toHaveLength(MAX_BACKEND_TEXT + 1);
    expect(out.endsWith("…")).toBe(true);
    const emoji = scrubBackendText(`${"e".repeat(MAX_BACKEND_TEXT - 1)}😀tail`);
    expect(emoji).toBe(`${"e".repeat(MAX_BACKEND_TEXT - 1)}…`);
  });

  it("stays fast on hostile text", () => {
    const start = performance.now();
    scrubBackendText(`${"a".repeat(200_000)}://${"b".repeat(200_000)}`, secretNeedles({ p: "x".repeat(50) }));
    scrubBackendText("password=".repeat(30_000));
    expect(performance.now() - start).toBeLessThan(500);
  });
});

describe("what the backend client makes of a backend's error", () => {
  let server: Server;
  let endpoint = "";
  beforeAll(async () => {
    // A backend that answers every call with an error echoing what it was sent.
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        res.writeHead(500, { "content-type": "application/json" });
        const echo = `key ${req.headers["x-api-key"]} body ${body} \u001b[2J${"x".repeat(5_000)}`;
        res.end(JSON.stringify({ error: echo }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/x`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("keeps the key and the secrets it sent out of the error, cut short", async () => {
    const client = new BackendClient({ endpoint, key: "backend-key-0123456789" });
    const error = await client
      .create({
        id: "6c6b1d34-5d3a-4a53-9d0f-3f0f7d6b0c11",
        teamId: 1,
        plan: { parameters: {} },
        config: { userName: "app" },
        secrets: { userPassword: "correct horse battery" },
        recoverFrom: { id: "b", config: {}, secrets: { accessKey: "AKIA-RECOVER-42" } },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    const message = (error as BackendError).message;
    expect(message).toMatch(/^backend answered 500 to POST: key \[redacted\] body /);
    for (const leaked of ["backend-key-0123456789", "correct horse battery", "AKIA-RECOVER-42", "\u001b"]) {
      expect(message).not.toContain(leaked);
    }
    expect(message).toContain("app");
    expect(message.length).toBeLessThan(600);
  });
});
