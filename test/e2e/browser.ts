import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CLAVIS_CHROMIUM ?? '/usr/bin/chromium';

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const OUT = join(process.cwd(), 'test-output', 'screenshots');
const DOCS = join(process.cwd(), 'docs', 'screenshots');

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

/**
 * Saves a screenshot under test-output/screenshots; with `docs` and `CLAVIS_UPDATE_DOCS=1`, also copies it
 * to docs/screenshots (the curated set the hub tour and README show), so ordinary runs leave the tree clean.
 */
export async function shot(page: Page, name: string, options: { docs?: boolean; fullPage?: boolean } = {}) {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? true });
  if (options.docs && process.env.CLAVIS_UPDATE_DOCS === '1') {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
}

/** Collects CSP violations and page errors, so a test can assert the page ran clean. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    // Form pages answer 400 on purpose when a field is wrong; anything else (CSP, script errors) counts.
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  return problems;
}

/** Like {@link shot}, of one element (a card) rather than the whole page. */
export async function shotOf(element: Locator, name: string, options: { docs?: boolean } = {}) {
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, `${name}.png`);
  await element.screenshot({ path: file });
  if (options.docs && process.env.CLAVIS_UPDATE_DOCS === '1') {
    mkdirSync(DOCS, { recursive: true });
    copyFileSync(file, join(DOCS, `${name}.png`));
  }
}
