import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  type Authentication,
  authenticate,
  bearerToken,
  ConnectionGrants,
  loadTokens,
  parseTokenEntry,
  parseTokenFile,
  TokenError,
  TokenTable,
} from "./auth";

const dir = mkdtempSync(join(tmpdir(), "landform-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const teamsOf = (table: TokenTable, token: string) => {
  const grant = table.lookup(token);
  return grant && { teams: [...grant.teams].sort((a, b) => a - b), admin: grant.admin };
};

describe("a token entry", () => {
  it("binds a token to team ids, to admin, or to both", () => {
    expect(parseTokenEntry("t1=1,2", "x").grant).toEqual({ teams: new Set([1, 2]), admin: false });
    expect(parseTokenEntry("t2=admin", "x").grant).toEqual({ teams: new Set(), admin: true });
    expect(parseTokenEntry("t3= admin , 7 ", "x").grant).toEqual({ teams: new Set([7]), admin: true });
  });

  it("keeps '=' inside the token (base64 padding) and splits at the last one", () => {
    expect(parseTokenEntry("abc==3", "x")).toEqual({
      token: "abc=",
      grant: { teams: new Set([3]), admin: false },
    });
  });

  it.each([
    ["no '='", "s3cr3t-value"],
    ["no token", "=1"],
    ["no teams", "s3cr3t="],
    ["an empty item", "s3cr3t=1,,2"],
    ["a negative team", "s3cr3t=-1"],
    ["a fractional team", "s3cr3t=1.5"],
    ["an unknown word", "s3cr3t=root"],
    ["a team past the safe integers", "s3cr3t=99999999999999999999"],
  ])("is refused with %s, naming the source but never the token", (_why, entry) => {
    let error: unknown;
    try {
      parseTokenEntry(entry, "--token #3");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenError);
    const message = (error as Error).message;
    expect(message).toMatch(/^--token #3: /);
    expect(message).not.toContain("s3cr3t");
  });
});

describe("the token table", () => {
  it("finds the grant of a known token and nothing for an unknown, longer or shorter one", () => {
    const table = new TokenTable();
    table.add("secret-alpha", { teams: new Set([1]), admin: false });
    table.add("secret-admin", { teams: new Set(), admin: true });
    expect(teamsOf(table, "secret-alpha")).toEqual({ teams: [1], admin: false });
    expect(teamsOf(table, "secret-admin")).toEqual({ teams: [], admin: true });
    for (const wrong of ["secret-alph", "secret-alphaa", "SECRET-ALPHA", "", "secret-beta"]) {
      expect(table.lookup(wrong)).toBeUndefined();
    }
    expect(table.size).toBe(2);
  });

  it("keeps no plaintext token: only digests are reachable from it", () => {
    const table = new TokenTable();
    table.add("plaintext-that-must-not-stay", { teams: new Set([1]), admin: false });
    const seen = new Set<unknown>();
    const strings: string[] = [];
    const walk = (v: unknown): void => {
      if (v === null || typeof v !== "object" || seen.has(v)) {
        if (typeof v === "string") strings.push(v);
        return;
      }
      seen.add(v);
      if (Buffer.isBuffer(v)) strings.push(v.toString("utf8"), v.toString("hex"));
      else if (v instanceof Map) {
        for (const [k, x] of v) {
          walk(k);
          walk(x);
        }
      } else if (v instanceof Set) for (const x of v) walk(x);
      else for (const x of Object.values(v)) walk(x);
    };
    walk(table);
    expect(strings.length).toBeGreaterThan(0);
    expect(strings.join("\n")).not.toContain("plaintext-that-must-not-stay");
  });

  it("does not let a caller change a grant after it was added", () => {
    const teams = new Set([1]);
    const table = new TokenTable();
    table.add("tok", { teams, admin: false });
    teams.add(2);
    expect(teamsOf(table, "tok")).toEqual({ teams: [1], admin: false });
  });

  it("refuses the same token twice, naming both places and not the token", () => {
    const table = new TokenTable();
    table.add("dup-token", { teams: new Set([1]), admin: false }, "--token #1");
    expect(() => table.add("dup-token", { teams: new Set([2]), admin: false }, "tokens.txt:4")).toThrow(
      /^tokens\.txt:4: the same token is already given by --token #1$/,
    );
  });

  it("refuses tokens that cannot travel in a header", () => {
    const table = new TokenTable();
    for (const bad of ["with space", "tab\there", "é-token"]) {
      expect(() => table.add(bad, { teams: new Set([1]), admin: false }, "x")).toThrow(TokenError);
    }
  });
});

describe("a token file", () => {
  it("holds one TOKEN=TEAMS a line; blank lines and # comments are skipped", () => {
    const entries = parseTokenFile(
      "# team tokens\n\n  alpha=1\r\nadmin-tok=admin,2\n   # indented comment\n",
      "f",
    );
    expect(entries.map((e) => [e.token, e.source])).toEqual([
      ["alpha", "f:3"],
      ["admin-tok", "f:4"],
    ]);
  });

  it("names the file and line of a bad entry", () => {
    expect(() => parseTokenFile("ok=1\nbroken\n", "/etc/landform/tokens")).toThrow(
      /^\/etc\/landform\/tokens:2: expected TOKEN=TEAMS/,
    );
  });
});

describe("loading tokens", () => {
  const file = join(dir, "tokens");
  writeFileSync(file, "from-file=4\n", { mode: 0o600 });

  it("combines --token and --token-file, and then ignores the environment", () => {
    const table = loadTokens({
      tokens: ["flag=1"],
      tokenFiles: [file],
      env: { LANDFORM_TOKENS: "env=2", LANDFORM_TOKENS_FILE: file },
    });
    expect(teamsOf(table, "flag")).toEqual({ teams: [1], admin: false });
    expect(teamsOf(table, "from-file")).toEqual({ teams: [4], admin: false });
    expect(table.lookup("env")).toBeUndefined();
    expect(table.size).toBe(2);
  });

  it("reads LANDFORM_TOKENS and LANDFORM_TOKENS_FILE when no flag is given", () => {
    const table = loadTokens({ env: { LANDFORM_TOKENS: "a=1,2; b=admin ;", LANDFORM_TOKENS_FILE: file } });
    expect(teamsOf(table, "a")).toEqual({ teams: [1, 2], admin: false });
    expect(teamsOf(table, "b")).toEqual({ teams: [], admin: true });
    expect(teamsOf(table, "from-file")).toEqual({ teams: [4], admin: false });
  });

  it("fails naming a file it cannot read", () => {
    expect(() => loadTokens({ tokenFiles: [join(dir, "missing")] })).toThrow(
      /missing: cannot be read \(ENOENT\)/,
    );
  });

  it("is empty without any source (the control plane then makes a development token)", () => {
    expect(loadTokens({ env: {} }).size).toBe(0);
  });
});

describe("a request's Authorization header", () => {
  const table = new TokenTable();
  table.add("good", { teams: new Set([1]), admin: false });

  it("accepts Bearer in any case, and only Bearer", () => {
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer  abc ")).toBe("abc");
    expect(bearerToken("Basic abc")).toBeUndefined();
    expect(bearerToken("Bearer ")).toBeUndefined();
    expect(bearerToken("Bearer")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it("maps to the token's grant, or to why it is refused", () => {
    expect(authenticate(table, "Bearer good")).toEqual({ grant: { teams: new Set([1]), admin: false } });
    expect(authenticate(table, undefined)).toEqual({ refused: "send Authorization: Bearer <token>" });
    expect(authenticate(table, "Bearer bad")).toEqual({ refused: "the bearer token is not known here" });
  });
});

describe("what a connection remembers of its Authorization header", () => {
  const setup = () => {
    const table = new TokenTable();
    table.add("team-one", { teams: new Set([1]), admin: false });
    table.add("team-two", { teams: new Set([2]), admin: false });
    const lookups = vi.spyOn(table, "lookup");
    return { table, lookups, grants: new ConnectionGrants(table) };
  };
  const teams = (auth: Authentication) => ("grant" in auth ? [...auth.grant.teams] : auth.refused);

  it("answers a repeated header from memory, without hashing the token again", () => {
    const { lookups, grants } = setup();
    const socket = {};
    for (let i = 0; i < 3; i++) expect(teams(grants.authenticate(socket, "Bearer team-one"))).toEqual([1]);
    expect(lookups).toHaveBeenCalledTimes(1);
  });

  it("judges another token on the same connection on its own: one token's teams never pass to another", () => {
    const { grants } = setup();
    const socket = {};
    expect(teams(grants.authenticate(socket, "Bearer team-one"))).toEqual([1]);
    expect(teams(grants.authenticate(socket, "Bearer team-two"))).toEqual([2]);
    // Same length, one character off; then a longer header starting with a known one.
    expect(teams(grants.authenticate(socket, "Bearer team-twp"))).toBe("the bearer token is not known here");
    expect(teams(grants.authenticate(socket, "Bearer team-two-x"))).toBe(
      "the bearer token is not known here",
    );
    expect(teams(grants.authenticate(socket, undefined))).toBe("send Authorization: Bearer <token>");
    expect(teams(grants.authenticate(socket, "Bearer team-one"))).toEqual([1]);
  });

  it("is kept per connection: another connection's header proves nothing", () => {
    const { grants } = setup();
    expect(teams(grants.authenticate({}, "Bearer team-one"))).toEqual([1]);
    expect(teams(grants.authenticate({}, "Bearer nope"))).toBe("the bearer token is not known here");
  });

  it("is dropped when the table changes, so the table's current answer is what counts", () => {
    const { table, lookups, grants } = setup();
    const socket = {};
    grants.authenticate(socket, "Bearer team-one");
    table.add("team-three", { teams: new Set([3]), admin: false });
    expect(teams(grants.authenticate(socket, "Bearer team-one"))).toEqual([1]);
    expect(lookups).toHaveBeenCalledTimes(2);
    grants.authenticate(socket, "Bearer team-one");
    expect(lookups).toHaveBeenCalledTimes(2);
  });

  it("is gone with the table: a restart without the token refuses it on a connection that used it", () => {
    const socket = {};
    expect(teams(setup().grants.authenticate(socket, "Bearer team-one"))).toEqual([1]);
    const restarted = new TokenTable();
    restarted.add("team-two", { teams: new Set([2]), admin: false });
    expect(teams(new ConnectionGrants(restarted).authenticate(socket, "Bearer team-one"))).toBe(
      "the bearer token is not known here",
    );
  });
});
