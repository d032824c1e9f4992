import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { createTlsIdentity, handshakeCert } from "./tls";

describe("the plugin's TLS identity", () => {
  it("is a self-signed certificate for localhost that verifies with its own key", () => {
    const id = createTlsIdentity();
    const cert = new X509Certificate(id.certDer);
    expect(cert.subject).toContain("CN=localhost");
    expect(cert.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1");
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(new Date(cert.validFrom).getTime()).toBeLessThan(Date.now());
    expect(cert.ca).toBe(false);
  });

  it("is made in a few milliseconds", () => {
    createTlsIdentity();
    const started = performance.now();
    for (let i = 0; i < 10; i++) createTlsIdentity();
    expect((performance.now() - started) / 10).toBeLessThan(20);
  });

  it("carries serverAuth, which openssl confirms when it is installed", () => {
    const id = createTlsIdentity();
    let openssl: string | undefined;
    try {
      openssl = execFileSync("sh", ["-c", "command -v openssl"], { encoding: "utf8" }).trim();
    } catch {
      openssl = undefined;
    }
    if (!openssl) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "landform-tls-"));
    try {
      const file = path.join(dir, "cert.pem");
      fs.writeFileSync(file, id.certPem);
      const text = execFileSync(openssl, ["x509", "-in", file, "-noout", "-text"], { encoding: "utf8" });
      expect(text).toContain("TLS Web Server Authentication");
      expect(text).toContain("DNS:localhost");
      const verified = execFileSync(
        openssl,
        ["verify", "-CAfile", file, "-partial_chain", "-purpose", "sslserver", file],
        { encoding: "utf8" },
      );
      expect(verified).toContain("OK");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("is sent in the handshake as unpadded base64 of the DER", () => {
    const id = createTlsIdentity();
    const text = handshakeCert(id.certDer);
    expect(text).not.toContain("=");
    expect(Buffer.from(text, "base64").equals(id.certDer)).toBe(true);
  });
});
