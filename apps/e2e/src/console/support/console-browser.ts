import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

import { type ConsoleAccount } from './console-stack';

// Debian's Chromium driven by playwright-core (no browser download). Every page the console opens is
// watched: a CSP violation, a console error or an uncaught exception fails the test, unless the test
// said beforehand that it expects that very error (a wrong password's 401, say).

export const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const REPO_ROOT = resolve(__dirname, '../../../../..');
/** Written by every run, never committed (/var/ is ignored). */
export const SCREENSHOT_DIR = join(REPO_ROOT, 'var', 'console-screenshots');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 360, height: 740 } as const;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

export interface WatchedPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Console errors, uncaught exceptions and CSP violations seen so far and not expected. */
  problems(): string[];
  /** Lets through console errors matching `pattern` until the returned function is called. */
  expectErrors(pattern: RegExp): () => void;
  close(): Promise<void>;
}

export async function openWatchedPage(
  browser: Browser,
  baseURL: string,
  viewport: { width: number; height: number } = DESKTOP,
): Promise<WatchedPage> {
  const context = await browser.newContext({ baseURL, viewport });
  // From the browser's side, not the page's: the CSP does not apply to it, and it reports what the
  // CSP blocked as a console error, which the listener below collects.
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) => {
      console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + event.blockedURI);
    });`,
  });
  const page = await context.newPage();
  const seen: string[] = [];
  const expected = new Set<RegExp>();
  const note = (text: string) => {
    if (![...expected].some((pattern) => pattern.test(text))) seen.push(text);
  };
  page.on('console', (message) => {
    if (message.type() === 'error') note(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => note(`uncaught exception: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A navigation away aborts pending fetches; that is not a failure of the page.
    const failure = request.failure()?.errorText ?? '';
    if (!failure.includes('ERR_ABORTED')) note(`request failed: ${request.url()} ${failure}`);
  });
  return {
    page,
    context,
    problems: () => [...seen],
    expectErrors(pattern) {
      expected.add(pattern);
      return () => expected.delete(pattern);
    },
    close: () => context.close(),
  };
}

/** Signs in through the console's own form; resolves once the signed-in shell shows. */
export async function signIn(
  page: Page,
  account: Pick<ConsoleAccount, 'username' | 'password'>,
): Promise<void> {
  await page.goto('/sign-in');
  const username = page.getByLabel('Username');
  try {
    await username.waitFor({ timeout: 20_000 });
  } catch (error) {
    // Say what the browser shows instead, with a picture, so a failure on a loaded CI box can be read.
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const picture = join(SCREENSHOT_DIR, `sign-in-failure-${Date.now()}.png`);
    await page.screenshot({ path: picture, fullPage: true }).catch(() => undefined);
    const shown = await page
      .locator('body')
      .innerText()
      .catch(() => '(unreadable)');
    throw new Error(`no sign-in form at ${page.url()} (${picture}); the page shows: ${shown.slice(0, 500)}`, {
      cause: error,
    });
  }
  await username.fill(account.username);
  await page.getByLabel('Password', { exact: true }).fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function expectSignedIn(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 15_000 });
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: { target: string[] }[];
}

/**
 * axe-core's serious and critical findings on the page as it is now. Injected through the DevTools
 * protocol (page.evaluate), which the page's CSP does not govern, so the page runs under its real CSP.
 */
export async function seriousAccessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  // A string: this file is compiled without the DOM's types.
  const violations = await page.evaluate<AxeViolation[]>('axe.run().then((result) => result.violations)');
  return violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
    );
}

/** As seriousAccessibilityViolations, in the light and then the dark colour scheme (contrast differs). */
export async function seriousViolationsInBothSchemes(page: Page): Promise<string[]> {
  const light = await seriousAccessibilityViolations(page);
  await page.emulateMedia({ colorScheme: 'dark' });
  try {
    const dark = await seriousAccessibilityViolations(page);
    return [...light, ...dark.map((violation) => `dark: ${violation}`)];
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
  }
}

/** Full-page screenshots of the current page at desktop and phone width (written, not compared). */
export async function screenshotBothWidths(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const original = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(original);
}

/** A desktop screenshot in the dark colour scheme, which follows the system's. */
export async function screenshotDark(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
}

/** The page as it is now has no serious or critical axe finding; screenshots at both widths. */
export async function expectAccessibleAndPhotograph(page: Page, name: string): Promise<void> {
  expect(await seriousAccessibilityViolations(page)).toEqual([]);
  await screenshotBothWidths(page, name);
}
