/**
 * The web console in a real browser (Debian's Chromium through
 * playwright-core) against `landform serve`: sign-in with a token, the
 * catalog, the setup flow generated from the provider's schemas, live status,
 * events, Edit Configuration, pause and resume, backups into a real S3 store,
 * deletion confirmed by typing the name, "Show recently deleted", keyboard
 * order and labels, and a service made by the real Pulumi CLI showing up in
 * the table. No secret value is ever in the page after creation.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, pageText, SCREENSHOTS, screenshot } from "./support/browser";
import { PulumiProgram } from "./support/pulumi";
import { type S3Server, startS3Server } from "./support/s3";
import { ServedControlPlane } from "./support/serve";

// Simulated services: the console is under test here, not the engines (test/engines.*).
process.env.LANDFORM_ENGINES = "simulated";

const TOKEN = "console-token-team1";
const SUPERUSER_PASSWORD = "su-Console-Kx81-heron";
const USER_PASSWORD = "user-Console-Lm22-finch";
const REDIS_PASSWORD = "redis-Console-Qp07-wren";
const NAME = "orders-db";

let cp: ServedControlPlane;
let s3: S3Server;
let browser: Browser;
let page: Page;
let pulumi: PulumiProgram;
let serviceId = "";

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${cp.apiUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

interface Service {
  id: string;
  name: string;
  pause: boolean;
  config: Record<string, unknown>;
  status: { state: string };
}

async function waitForApi(id: string, ok: (s: Service) => boolean, what: string): Promise<Service> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await api<Service>(`/managed-services/${id}`);
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(s.status)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** No secret the browser was given appears anywhere in the page (HTML and input values). */
async function expectNoSecrets(where: string, secrets: string[] = [USER_PASSWORD, SUPERUSER_PASSWORD]) {
  const text = await pageText(page);
  for (const secret of [...secrets, s3.secretKey]) {
    expect(text.includes(secret), `${where}: a secret value is rendered`).toBe(false);
  }
}

const status = () => page.locator(".page-head .status");

beforeAll(async () => {
  [cp, s3, browser] = await Promise.all([
    ServedControlPlane.start({ tokens: [`${TOKEN}=1`], operationDelayMs: 400 }),
    startS3Server(),
    launchChromium(),
  ]);
  await s3.bucket("landform-backups");
  pulumi = await PulumiProgram.create({ apiUrl: cp.apiUrl, token: TOKEN });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  console.log(`console suite: screenshots in ${SCREENSHOTS}`);
});

afterAll(async () => {
  await browser?.close();
  await cp?.close();
  await s3?.close();
});

describe("the web console", () => {
  it("signs in with a token kept in session storage only", async () => {
    await page.goto(cp.url);
    await expect.poll(() => page.getByRole("heading", { name: "Sign in to Landform" }).count()).toBe(1);
    expect(await page.getByLabel("API token").getAttribute("type")).toBe("password");
    await page.getByLabel("API token").fill(TOKEN);
    await page.getByLabel("Team ID").fill("1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Managed Services" }).waitFor();
    const storage = await page.evaluate(() => ({
      session: sessionStorage.getItem("landform.session"),
      local: localStorage.length,
      cookie: document.cookie,
      url: location.href,
    }));
    expect(JSON.parse(storage.session ?? "{}")).toEqual({ token: TOKEN, team: 1 });
    expect(storage).toMatchObject({ local: 0, cookie: "" });
    expect(storage.url).not.toContain(TOKEN);
  });

  it("shows the catalog: category, description, capabilities and plans", async () => {
    await page.getByRole("link", { name: "Catalog" }).click();
    const card = page
      .getByRole("listitem")
      .filter({ has: page.getByRole("heading", { name: "PostgreSQL", exact: true }) });
    await card.waitFor();
    const text = await card.textContent();
    expect(text).toContain("Database");
    expect(text).toContain("Open-source database system");
    expect(text).toMatch(/Pause[\s\S]*Backups[\s\S]*Point-in-time recovery/);
    expect(text).toContain("Plans: Small, Medium, Medium High-Mem, Large, Extra Large");
    await screenshot(page, "catalog");
  });

  it("sets up a service from a form generated from the provider's schemas, secrets in a step of their own", async () => {
    await page.getByRole("link", { name: "Set up PostgreSQL", exact: true }).click();
    await page.getByRole("heading", { name: "Set up PostgreSQL" }).waitFor();
    // Defaults filled in, help from descriptions, the update rules spelled out, plan-fixed values locked.
    expect(await page.getByLabel("databaseName").inputValue()).toBe("app");
    await expect.poll(() => page.getByLabel("databaseName").getAttribute("aria-describedby")).toBeTruthy();
    expect(await page.locator("#config-databaseName-help").textContent()).toBe(
      "Cannot be changed after creation.",
    );
    expect(await page.locator("#config-userName-help").textContent()).toContain('Cannot be "postgres"');
    expect(await page.locator("#config-version-help").textContent()).toContain(
      "newer minor version of the same major",
    );
    expect(await page.locator("#plan-storage-help").textContent()).toContain("Can only be increased");
    expect(await page.getByLabel("version").inputValue()).toBe("17.9");
    expect(await page.getByLabel("cpu").isDisabled()).toBe(true);
    // The name is required: without it the form does not move on.
    await page.getByRole("button", { name: "Next: secrets" }).click();
    expect(
      await page
        .getByLabel("Name", { exact: true })
        .evaluate((el) => (el as HTMLInputElement).validity.valueMissing),
    ).toBe(true);
    expect(await page.getByRole("heading", { name: "Set up PostgreSQL" }).count()).toBe(1);
    expect(await page.getByLabel("superuserPassword (required)", { exact: true }).count()).toBe(0);

    await page.getByLabel("Name", { exact: true }).fill(NAME);
    await page.getByLabel("version").selectOption("17.6");
    await page.getByLabel("Enable backups").check();
    await page.getByLabel("endpointUrl (required)").fill(s3.endpoint);
    await page.getByLabel("destinationPath (required)").fill("s3://landform-backups/console");
    await page.getByLabel("accessKeyId (required)").fill(s3.accessKey);
    // Every input of the form has a label (its accessible name).
    const unlabelled = await page.evaluate(
      () =>
        [...document.querySelectorAll("main input, main select")].filter(
          (el) => !(el as HTMLInputElement).labels?.length,
        ).length,
    );
    expect(unlabelled).toBe(0);
    await screenshot(page, "setup-configuration");
    await page.getByRole("button", { name: "Next: secrets" }).click();

    for (const label of ["superuserPassword (required)", "userPassword (required)", "secretKey (required)"]) {
      expect(await page.getByLabel(label, { exact: true }).getAttribute("type"), label).toBe("password");
    }
    expect(await page.locator("#secret-userPassword-help").textContent()).toBe(
      "Cannot be changed after creation.",
    );
    await page.getByLabel("superuserPassword (required)", { exact: true }).fill(SUPERUSER_PASSWORD);
    await page.getByLabel("userPassword (required)", { exact: true }).fill(USER_PASSWORD);
    await page.getByLabel("secretKey (required)", { exact: true }).fill(s3.secretKey);
    await screenshot(page, "setup-secrets");
    await page.getByRole("button", { name: "Create service" }).click();

    await page.getByRole("heading", { name: NAME }).waitFor();
    serviceId = /#\/services\/([0-9a-f-]{36})/.exec(page.url())?.[1] ?? "";
    expect(serviceId).not.toBe("");
    await expectNoSecrets("the new service's page");
    const made = await api<Service>(`/managed-services/${serviceId}`);
    expect(made.config).toMatchObject({ version: "17.6", databaseName: "app", userName: "app" });
  });

  it("shows the status move from Creating to Synchronized, in the page and the table", async () => {
    await expect.poll(() => status().textContent(), { timeout: 10_000 }).toMatch(/Creating|Synchronized/);
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          seen.add((await status().textContent()) ?? "");
          return seen.has("Synchronized");
        },
        { timeout: 60_000, interval: 100 },
      )
      .toBe(true);
    expect(seen.has("Creating"), `states seen: ${[...seen]}`).toBe(true);
    await page.getByRole("link", { name: "Managed Services" }).first().click();
    const row = page.locator(`tr[data-service="${NAME}"]`);
    await expect.poll(() => row.locator(".status").textContent()).toBe("Synchronized");
    expect(await row.textContent()).toContain("postgres v1");
    await screenshot(page, "services");
    await expectNoSecrets("the service table");
  });

  it("shows the events log", async () => {
    await page.goto(`${cp.url}/#/services/${serviceId}/events`);
    const events = page.locator("table.events");
    await expect.poll(() => events.textContent(), { timeout: 10_000 }).toContain("ServiceSynchronized");
    expect(await events.textContent()).toContain("ServiceCreationRequested");
    await screenshot(page, "events");
    await expectNoSecrets("the events log");
  });

  it("edits the configuration: only updatable fields enabled, the change seen through the API", async () => {
    await page.getByRole("tab", { name: "Configuration" }).click();
    await page.getByRole("button", { name: "Edit Configuration" }).click();
    expect(await page.getByLabel("databaseName").isDisabled()).toBe(true);
    expect(await page.getByLabel("userName").isDisabled()).toBe(true);
    expect(await page.getByLabel("version").isEnabled()).toBe(true);
    await page.getByLabel("version").selectOption("17.9");
    await screenshot(page, "edit-configuration");
    await page.getByRole("button", { name: "Save configuration" }).click();
    await page.getByRole("button", { name: "Edit Configuration" }).waitFor();
    const changed = await waitForApi(serviceId, (s) => s.config.version === "17.9", "config change");
    expect(changed.config).toMatchObject({ databaseName: "app", userName: "app" });
    await expect.poll(() => page.locator(".facts").textContent()).toContain("17.9");
    await waitForApi(serviceId, (s) => s.status.state === "synchronized", "update");
  });

  it("pauses and resumes", async () => {
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await waitForApi(serviceId, (s) => s.pause && s.status.state === "paused", "pause");
    await expect.poll(() => status().textContent(), { timeout: 10_000 }).toBe("Paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await waitForApi(serviceId, (s) => !s.pause && s.status.state === "synchronized", "resume");
    await expect.poll(() => status().textContent(), { timeout: 10_000 }).toBe("Synchronized");
  });

  it("lists backups and backs up now into the S3 store", async () => {
    await page.getByRole("tab", { name: "Backups" }).click();
    // The tab renders after the click resolves: wait for its panel, not the one it replaces.
    await expect
      .poll(() => page.locator(".panel").textContent(), { timeout: 10_000 })
      .toContain("Every 24 h, kept 7 days.");
    await page.getByRole("button", { name: "Back up now" }).waitFor();
    const rows = page.locator("table.backups tbody tr");
    const before = await rows.count();
    await page.getByRole("button", { name: "Back up now" }).click();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(before + 1);
    await expect
      .poll(() => rows.first().locator("td").nth(3).textContent(), { timeout: 60_000 })
      .not.toBe("pending");
    await screenshot(page, "backups");
    await expectNoSecrets("the backups tab");
  });

  it("deletes only once the exact name is typed, then lists it under Show recently deleted", async () => {
    await page.getByRole("button", { name: "Delete", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: `Delete ${NAME}?` });
    const confirm = dialog.getByRole("button", { name: "Delete service" });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel("Type the service's name to confirm").fill(NAME.slice(0, -1));
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel("Type the service's name to confirm").fill(`${NAME} `);
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel("Type the service's name to confirm").fill(NAME);
    await screenshot(page, "delete-confirmation");
    await confirm.click();
    await page.getByRole("heading", { name: "Managed Services" }).waitFor();
    await waitForApi(serviceId, (s) => s.status.state === "deleted", "deletion");
    const row = page.locator(`tr[data-service="${NAME}"]`);
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(0);
    await page.getByLabel("Show recently deleted").check();
    await expect.poll(() => row.locator(".status").textContent(), { timeout: 10_000 }).toBe("Deleted");
    // Kept for the backups' retention (7 days) after the deletion.
    expect(await row.locator("td").nth(5).textContent()).not.toBe("");
    await screenshot(page, "recently-deleted");
  });

  it("reaches the main controls by keyboard, in order", async () => {
    await page.goto(`${cp.url}/#/services`);
    await page.getByRole("heading", { name: "Managed Services" }).waitFor();
    // A fresh document, so focus starts at the top and not where the last test left it.
    await page.reload();
    await page.getByRole("heading", { name: "Managed Services" }).waitFor();
    const names: string[] = [];
    // The first Tab may only bring focus into the page (to the body): such steps are not counted.
    for (let i = 0; i < 10 && names.length < 7; i++) {
      await page.keyboard.press("Tab");
      const name = await page.evaluate(() => {
        const el = document.activeElement as HTMLInputElement | null;
        if (!el || el === document.body) return undefined;
        return (el.labels?.[0]?.textContent ?? el.textContent ?? "").trim();
      });
      if (name !== undefined) names.push(name);
    }
    expect(names).toEqual([
      "Skip to content",
      "Managed Services",
      "Catalog",
      "Sign out",
      "New service",
      "Filter services",
      "Show recently deleted",
    ]);
  });

  it("shows a service made by the Pulumi CLI in the table", async () => {
    pulumi.declare({
      services: {
        cache: {
          name: "cache-from-pulumi",
          provider: { name: "redis", version: "v1" },
          plan: { id: 0 },
          config: { maxmemoryPolicy: "allkeys-lru" },
          secrets: { password: REDIS_PASSWORD },
        },
      },
    });
    await pulumi.up();
    await page.goto(`${cp.url}/#/services`);
    const row = page.locator('tr[data-service="cache-from-pulumi"]');
    await expect.poll(() => row.locator(".status").textContent(), { timeout: 30_000 }).toBe("Synchronized");
    expect(await row.textContent()).toContain("redis v1");
    await row.getByRole("link", { name: "cache-from-pulumi" }).click();
    await page.getByRole("tab", { name: "Configuration" }).click();
    await expect.poll(() => page.locator(".facts").textContent()).toContain("allkeys-lru");
    await expectNoSecrets("the Pulumi-made service", [REDIS_PASSWORD, USER_PASSWORD, SUPERUSER_PASSWORD]);
  });
});
