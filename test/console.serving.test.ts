/**
 * How `landform serve` serves the web console, and the console on a large
 * account: static files with their content types, caching and a strict CSP,
 * the API's paths never shadowed, the one-time sign-in link of the
 * development token, and a table of 2,000 services rendered and filtered
 * within a second in a real browser (figures printed).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, screenshot } from "./support/browser";
import { EchoingBackend } from "./support/echo-backend";
import { hostileProvider, secretOf } from "./support/hostile";
import { ServedControlPlane } from "./support/serve";

const BIG_TOKEN = "console-large-account";
const BACKEND_KEY = "console-echo-key";
const SERVICES = 2_000;
/** Rows a page of the service table shows (console/src/services.tsx). */
const PAGE = 100;

let dev: ServedControlPlane;
let big: ServedControlPlane;
let echo: EchoingBackend;
let browser: Browser;
/** Content-Security-Policy violations the browser reported on any page of this suite. */
const cspViolations: string[] = [];

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  return page;
}

beforeAll(async () => {
  [dev, big, echo, browser] = await Promise.all([
    // No token given: the development token, and with it the sign-in link.
    ServedControlPlane.start(),
    ServedControlPlane.start({ tokens: [`${BIG_TOKEN}=2`] }),
    EchoingBackend.start(BACKEND_KEY),
    launchChromium(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([dev?.close(), big?.close()]);
  await echo?.close();
});

describe("serving the console", () => {
  it("serves index.html and hashed assets with their types, caching and a strict CSP", async () => {
    const index = await fetch(`${dev.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const csp = index.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await index.text();
    // Every script is a file of the console: nothing inline for the CSP to forbid.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    for (const asset of assets) {
      const res = await fetch(`${dev.url}/assets/${asset}`);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get("content-type")).toMatch(
        asset.endsWith(".js") ? /^text\/javascript/ : /^text\/css/,
      );
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    }
  });

  it("answers unknown files and paths outside the assets as Problem JSON, and leaves the API's paths alone", async () => {
    for (const [path, status] of [
      ["/assets/nothing.js", 404],
      ["/assets/..%2Fpackage.json", 400],
      ["/index.html", 404],
      ["/api/nothing", 404],
    ] as const) {
      const res = await fetch(`${dev.url}${path}`);
      expect(res.status, path).toBe(status);
      expect(res.headers.get("content-type"), path).toBe("application/problem+json");
      const problem = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(problem).sort(), path).toEqual(["detail", "status", "title", "traceId"]);
    }
    expect((await fetch(`${dev.url}/health`)).status).toBe(200);
    expect((await fetch(`${dev.url}/ready`)).status).toBe(200);
    expect((await fetch(`${dev.url}/metrics`)).headers.get("content-type")).toMatch(/^text\/plain/);
    expect((await fetch(`${dev.url}/api/openapi.json`)).headers.get("content-type")).toBe("application/json");
    // The sign-in extension is not part of the published API's document.
    expect(await (await fetch(`${dev.url}/api/openapi.json`)).text()).not.toContain("_landform");
  });
});

describe("the one-time sign-in link of the development token", () => {
  it("signs the browser in once, keeps the token in session storage and drops the code from the address", async () => {
    const [link, code] = (
      await dev.waitForOutput(/(http:\/\/127\.0\.0\.1:\d+\/#signin=([A-Za-z0-9_-]+))/)
    ).slice(1);
    const page = await newPage();
    await page.goto(link!);
    await page.getByRole("heading", { name: "Managed Services" }).waitFor();
    const state = await page.evaluate(() => ({
      url: location.href,
      session: sessionStorage.getItem("landform.session"),
    }));
    expect(state.url).not.toContain(code);
    expect(state.url.endsWith("#/services")).toBe(true);
    const session = JSON.parse(state.session ?? "{}") as { token?: string; team?: number };
    expect(session.team).toBe(1);
    expect(session.token).toMatch(/^lf_dev_/);
    // The token works on the public API, as for any other client.
    const list = await fetch(`${dev.apiUrl}/managed-services?team=1`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    expect(list.status).toBe(200);
    // The code is single-use: a second exchange is refused, and a second page says the link did not work.
    const again = await fetch(`${dev.url}/_landform/console/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code }),
    });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { detail: string }).detail).toMatch(/^code: /);
    const second = await newPage();
    await second.goto(link!);
    await second.getByRole("alert").waitFor();
    expect(await second.getByRole("alert").textContent()).toContain("That sign-in link did not work");
    expect(await second.evaluate(() => sessionStorage.getItem("landform.session"))).toBeNull();
    // The code travelled in the fragment only: no log line of the server holds it.
    expect(dev.output.split(link!).join("")).not.toContain(code);
    await screenshot(second, "sign-in");
    await Promise.all([page.close(), second.close()]);
  });

  it("refuses a malformed exchange with Problem JSON naming the field", async () => {
    const res = await fetch(`${dev.url}/_landform/console/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: "" }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/code/);
  });
});

describe("a large account", () => {
  it(`renders and filters a table of ${SERVICES} services within a second`, async () => {
    const call = (method: string, path: string, body: unknown) =>
      fetch(`${big.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${BIG_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    // A team provider whose backend converges at once: thousands of services cost nothing after creation.
    const provider = { ...hostileProvider(echo.url, BACKEND_KEY), name: "instant", displayName: "Instant" };
    const registered = await call("POST", "/managed-services/providers", {
      ...provider,
      scope: { type: "team", teamIds: [2] },
    });
    expect(registered.status, await registered.text()).toBe(200);
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let n = next++; n < SERVICES; n = next++) {
          const res = await call("POST", "/managed-services", {
            teamId: 2,
            name: `svc-${n}`,
            provider: { name: "instant", version: "v1" },
            plan: { id: 1, parameters: { storage: 2 } },
            config: { name: "aaa", size: 3 },
            secrets: { password: secretOf(n) },
          });
          if (res.status !== 200) throw new Error(`create svc-${n}: ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    const seedMs = performance.now() - seedStart;

    const page = await newPage();
    await page.goto(big.url);
    await page.getByLabel("API token").fill(BIG_TOKEN);
    await page.getByLabel("Team ID").fill("2");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Managed Services" }).waitFor();
    await page.getByRole("link", { name: "Catalog" }).click();
    await page.getByRole("heading", { name: "Catalog" }).waitFor();

    // Times in the page: from the action to the frame after the table holds the expected rows.
    const timed = (action: "open" | "filter" | "clear", rows: number) =>
      page.evaluate(
        ([action, rows]) =>
          new Promise<number>((resolve) => {
            const t0 = performance.now();
            if (action === "open")
              (document.querySelector('nav a[href="#/services"]') as HTMLAnchorElement).click();
            else {
              const input = document.getElementById("services-filter") as HTMLInputElement;
              input.value = action === "filter" ? "svc-1999" : "";
              input.dispatchEvent(new Event("input", { bubbles: true }));
            }
            const check = () => {
              if (document.querySelectorAll("table.services tbody tr").length === rows) {
                requestAnimationFrame(() => resolve(performance.now() - t0));
              } else requestAnimationFrame(check);
            };
            check();
          }),
        [action, rows] as const,
      );
    const rows = page.locator("table.services tbody tr");
    const caption = page.locator("table.services caption");
    // The table pages through the team, PAGE rows at a time; the filter searches all of it.
    const openMs = await timed("open", PAGE);
    expect(await caption.textContent()).toBe(`${SERVICES} services, showing 1 to ${PAGE}`);
    await screenshot(page, "large-account");
    const filterMs = await timed("filter", 1);
    expect(await rows.first().textContent()).toContain("svc-1999");
    expect(await caption.textContent()).toBe(`1 of ${SERVICES} services`);
    const clearMs = await timed("clear", PAGE);
    await page.getByRole("button", { name: "Next page" }).click();
    await expect
      .poll(() => caption.textContent())
      .toBe(`${SERVICES} services, showing ${PAGE + 1} to ${2 * PAGE}`);
    // Every service is on some page: back to the first, then forward through all of them.
    await page.getByRole("button", { name: "Previous page" }).click();
    const names = new Set<string>();
    for (let p = 1; ; p++) {
      await expect.poll(() => caption.textContent()).toContain(`showing ${(p - 1) * PAGE + 1} to`);
      for (const name of await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-service"))))
        names.add(name ?? "");
      if (p === SERVICES / PAGE) break;
      await page.getByRole("button", { name: "Next page" }).click();
    }
    expect(names.size).toBe(SERVICES);
    console.log(
      `console, large account: ${SERVICES} services seeded in ${Math.round(seedMs)} ms; ` +
        `table opened (list fetched, first ${PAGE} rendered) in ${Math.round(openMs)} ms, ` +
        `filtered over all ${SERVICES} to 1 row in ${Math.round(filterMs)} ms, cleared in ${Math.round(clearMs)} ms`,
    );
    expect(openMs).toBeLessThan(1_000);
    expect(filterMs).toBeLessThan(1_000);
    expect(clearMs).toBeLessThan(1_000);
    expect(cspViolations).toEqual([]);
    await page.close();
  });
});
