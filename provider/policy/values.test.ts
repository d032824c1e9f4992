import { unknownCheckingProxy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import {
  hasCredentialInUrl,
  isCredentialKey,
  isUnknown,
  keyWords,
  matchesStackPattern,
  plainProps,
  stackOfUrn,
  UNKNOWN,
} from "./values";

describe("credential-like keys", () => {
  it.each([
    "password",
    "userPassword",
    "superuser_password",
    "DB_PASSWORD",
    "passwordFile",
    "apiKey",
    "api_key",
    "APIKey",
    "secretKey",
    "secretAccessKey",
    "clientSecret",
    "auth_token",
    "accessToken",
    "key",
    "credentials",
    "passphrase",
  ])("%s is one", (key) => {
    expect(isCredentialKey(key)).toBe(true);
  });

  it.each([
    "accessKeyId",
    "keyId",
    "tokenUrl",
    "secretName",
    "userName",
    "version",
    "max_connections",
    "maxmemoryPolicy",
    "monkey",
    "keyspace",
    "endpointUrl",
  ])("%s is not", (key) => {
    expect(isCredentialKey(key)).toBe(false);
  });

  it("extra patterns add keys", () => {
    expect(isCredentialKey("dsn")).toBe(false);
    expect(isCredentialKey("dsn", [/^dsn$/i])).toBe(true);
  });

  it("split camelCase, snake_case and acronyms into words", () => {
    expect(keyWords("secretAccessKey")).toEqual(["secret", "access", "key"]);
    expect(keyWords("SECRET_ACCESS_KEY")).toEqual(["secret", "access", "key"]);
    expect(keyWords("APIKey")).toEqual(["api", "key"]);
    expect(keyWords("s3-endpoint.url")).toEqual(["s3", "endpoint", "url"]);
  });
});

describe("URLs with a password", () => {
  it("are recognised", () => {
    expect(hasCredentialInUrl("postgres://app:s3cret@db.internal:5432/app")).toBe(true);
    expect(hasCredentialInUrl("https://user:pw@example.com")).toBe(true);
  });
  it("without one are not", () => {
    expect(hasCredentialInUrl("postgres://app@db.internal:5432/app")).toBe(false);
    expect(hasCredentialInUrl("https://example.com:8443/path?a=b@c")).toBe(false);
    expect(hasCredentialInUrl("s3://bucket/prefix")).toBe(false);
    expect(hasCredentialInUrl("user:pw@host")).toBe(false);
  });
});

describe("stack patterns", () => {
  it("match stack names with * and ?, case-insensitively", () => {
    expect(matchesStackPattern("prod", "prod", "shop")).toBe(true);
    expect(matchesStackPattern("prod", "PROD", "shop")).toBe(true);
    expect(matchesStackPattern("prod", "prod2", "shop")).toBe(false);
    expect(matchesStackPattern("prod-*", "prod-eu", "shop")).toBe(true);
    expect(matchesStackPattern("*-prod", "eu-prod", "shop")).toBe(true);
    expect(matchesStackPattern("prod-?", "prod-1", "shop")).toBe(true);
    expect(matchesStackPattern("prod-?", "prod-12", "shop")).toBe(false);
    expect(matchesStackPattern("p.od", "prod", "shop")).toBe(false);
  });
  it("match PROJECT/STACK when the pattern has a slash", () => {
    expect(matchesStackPattern("shop/prod", "prod", "shop")).toBe(true);
    expect(matchesStackPattern("shop/prod", "prod", "blog")).toBe(false);
    expect(matchesStackPattern("*/live", "live", "blog")).toBe(true);
  });
  it("come from the URN", () => {
    expect(
      stackOfUrn("urn:pulumi:prod-eu::shop::pulumi-nodejs:dynamic/codesphere:ManagedService::db"),
    ).toEqual({ stack: "prod-eu", project: "shop" });
    expect(stackOfUrn("not-a-urn")).toBeUndefined();
  });
});

describe("properties as the policy SDK hands them", () => {
  it("are read behind the unknown-checking proxy without throwing", () => {
    const raw = { backups: UNKNOWN, provider: { name: "postgres" } };
    const props = unknownCheckingProxy(raw) as Record<string, unknown>;
    expect(() => props.backups).toThrow(/can't be known during preview/);
    const plain = plainProps(props);
    expect(isUnknown(plain.backups)).toBe(true);
    expect(plain.provider).toEqual({ name: "postgres" });
  });
  it("are returned as they are when not proxied", () => {
    const raw = { a: 1 };
    expect(plainProps(raw)).toBe(raw);
  });
});
