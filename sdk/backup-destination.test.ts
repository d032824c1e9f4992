import { describe, expect, it } from "vitest";
import { destinationProblems, parseDestinationPath, parseEndpointUrl } from "./backup-destination";

describe("backup destination", () => {
  it("reads s3://BUCKET[/PREFIX] and http(s) endpoints", () => {
    expect(parseDestinationPath("s3://backups")).toEqual({ bucket: "backups", prefix: "" });
    expect(parseDestinationPath("s3://my.backups/team/a/")).toEqual({
      bucket: "my.backups",
      prefix: "team/a",
    });
    expect(parseEndpointUrl("http://127.0.0.1:9000/")).toEqual({ endpoint: "http://127.0.0.1:9000" });
    expect(parseEndpointUrl("https://s3.example.com/gw/")).toEqual({ endpoint: "https://s3.example.com/gw" });
  });

  it("names the field and the rule of each address that cannot be used, never the value", () => {
    const problems = destinationProblems("backups.config", {
      endpointUrl: "http://key:hush-hush@127.0.0.1:9000",
      destinationPath: "s3://a..b/x",
    });
    expect(problems).toEqual([
      "backups.config.endpointUrl: must not carry credentials",
      "backups.config.destinationPath: must be s3://BUCKET or s3://BUCKET/PREFIX with a valid bucket name",
    ]);
    expect(problems.join()).not.toContain("hush-hush");
    for (const destinationPath of [
      "http://bucket/x",
      "s3://",
      "s3:///x",
      "s3://UPPER",
      "s3://ab",
      "s3://a-.b",
    ]) {
      expect(destinationProblems("c", { destinationPath })).toHaveLength(1);
    }
    for (const endpointUrl of ["ftp://host", "not a url", "http://host/?q=1", "http://host/#f"]) {
      expect(destinationProblems("c", { endpointUrl })).toHaveLength(1);
    }
    // Fields a provider's schema does not have, or gives in another form, are its schema's business.
    expect(destinationProblems("c", { path: "bucket/prefix", endpointUrl: 42 })).toEqual([]);
  });
});
