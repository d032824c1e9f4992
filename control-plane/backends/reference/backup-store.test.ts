import { describe, expect, it } from "vitest";
import { backupKey, isKeySegment, objectUrl, scrub, serviceFolder, storeSettings } from "./backup-store";

describe("the backup store's settings", () => {
  it("read the core catalog's shape: the access key id in config, the secret key in secrets", () => {
    expect(
      storeSettings(
        {
          endpointUrl: "https://s3.example.com/",
          destinationPath: "s3://backups/team/db/",
          accessKeyId: "AK",
        },
        { secretKey: "SK-secret" },
      ),
    ).toEqual({
      location: {
        endpoint: "https://s3.example.com",
        region: "us-east-1",
        bucket: "backups",
        prefix: "team/db",
      },
      accessKeyId: "AK",
      secretAccessKey: "SK-secret",
    });
  });

  it("read the docs' shape: the key pair in secrets, the bucket's root, and a region", () => {
    const s = storeSettings(
      {
        endpointUrl: "http://127.0.0.1:9000",
        destinationPath: "s3://my-codesphere-backups/",
        region: "eu-central-1",
      },
      { accessKey: "AK2", secretKey: "SK2-secret" },
    );
    expect(s).toMatchObject({
      location: {
        endpoint: "http://127.0.0.1:9000",
        region: "eu-central-1",
        bucket: "my-codesphere-backups",
        prefix: "",
      },
      accessKeyId: "AK2",
    });
    if ("problems" in s) throw new Error("unexpected problems");
    expect(backupKey(s.location, 7, "ms-1", "b-1")).toBe("7/ms-1/b-1.json");
    expect(objectUrl(s.location, serviceFolder(s.location, 7, "ms-1"))).toBe(
      "s3://my-codesphere-backups/7/ms-1/",
    );
  });

  it("name every missing or malformed field, never its value", () => {
    const s = storeSettings(
      { endpointUrl: "https://user:pw-Secret9@s3.example.com", destinationPath: "bucket/x" },
      {},
    );
    expect(s).toEqual({
      problems: [
        "config.endpointUrl: must not carry credentials",
        "config.destinationPath: must be s3://BUCKET or s3://BUCKET/PREFIX with a valid bucket name",
        "config.accessKeyId (or secrets.accessKey): is required",
        "secrets.secretKey: is required",
      ],
    });
    expect(JSON.stringify(s)).not.toContain("pw-Secret9");
  });

  it("key objects by team, service and backup id", () => {
    const s = storeSettings(
      { endpointUrl: "http://h", destinationPath: "s3://bkt/a/b", accessKeyId: "AK" },
      { secretKey: "SK" },
    );
    if ("problems" in s) throw new Error("unexpected problems");
    expect(backupKey(s.location, 3, "svc", "bid")).toBe("a/b/3/svc/bid.json");
    expect(isKeySegment("9b1d-Ab_c.1")).toBe(true);
    for (const bad of ["..", ".", "a/b", "a b", "", "-x"]) expect(isKeySegment(bad)).toBe(false);
    expect(scrub("x SK-long y SK-long", ["SK-long", 5, "ab"])).toBe("x *** y ***");
  });
});
