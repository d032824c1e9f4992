/**
 * The plugin's TLS identity: a fresh EC P-256 key and a self-signed X.509
 * certificate for `localhost`, made in a millisecond or two at start-up.
 *
 * Node can make keys and signatures but has no certificate builder, so this
 * writes the few DER structures a certificate needs itself (see
 * docs/decisions/006): no openssl at run time, no key on disk, a new key per
 * process as go-plugin does. Terraform pins exactly this certificate (it
 * arrives in the handshake line), requires SAN `DNS:localhost`, and checks
 * serverAuth when extended key usage is present.
 */
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";

export interface TlsIdentity {
  /** The certificate, DER. */
  certDer: Buffer;
  certPem: string;
  keyPem: string;
}

// ---- DER encoding

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bitString = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, "").slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

const ECDSA_WITH_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

function name(cn: string): Buffer {
  return seq(set(seq(oid("2.5.4.10"), utf8("Landform"))), set(seq(oid("2.5.4.3"), utf8(cn))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

/** Makes a new key and a self-signed certificate for `localhost` and 127.0.0.1. */
export function createTlsIdentity(now: Date = new Date()): TlsIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive and minimally encoded
  const subject = name("localhost");
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    tlv(0x02, serial),
    ECDSA_WITH_SHA256,
    subject,
    seq(time(new Date(now.getTime() - 60_000)), time(new Date(now.getTime() + 365 * 86_400_000))),
    subject,
    publicKey.export({ type: "spki", format: "der" }),
    tlv(
      0xa3,
      seq(
        // keyUsage: digitalSignature
        extension("2.5.29.15", true, bitString(Buffer.from([0x80]))),
        // extKeyUsage: serverAuth, clientAuth
        extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2"))),
        // basicConstraints: not a CA
        extension("2.5.29.19", true, seq()),
        // subjectAltName: DNS:localhost, IP:127.0.0.1
        extension(
          "2.5.29.17",
          false,
          seq(tlv(0x82, Buffer.from("localhost")), tlv(0x87, Buffer.from([127, 0, 0, 1]))),
        ),
      ),
    ),
  );
  const signature = sign("sha256", tbs, privateKey);
  const certDer = seq(tbs, ECDSA_WITH_SHA256, bitString(signature));
  return {
    certDer,
    certPem: pem("CERTIFICATE", certDer),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  };
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

/** The certificate as go-plugin's handshake carries it: base64 of the DER without `=` padding. */
export function handshakeCert(certDer: Buffer): string {
  return certDer.toString("base64").replace(/=+$/, "");
}
