/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The functions given to page.evaluate run in the browser, hence the DOM types.
/**
 * A real browser for the console suite: Debian's Chromium driven by
 * playwright-core (nothing downloaded). A missing Chromium fails loudly with
 * how to install it; it is never a skip. Screenshots go to
 * test-results/console/ (gitignored), whose path the suite prints.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ROOT } from "./serve";

export const CHROMIUM = process.env.LANDFORM_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(ROOT, "test-results", "console");

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the console suite needs Chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it) ` +
        "or LANDFORM_CHROMIUM=/path/to/chromium",
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags Chromium keeps calling home on a closed network.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Saves a full-page PNG under test-results/console and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Every text the page holds: its HTML and the current value of every input (not in the HTML once typed). */
export function pageText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const values = [...document.querySelectorAll("input, select, textarea")].map(
      (el) => (el as HTMLInputElement).value,
    );
    return `${document.documentElement.outerHTML}\n${values.join("\n")}`;
  });
}
