import { type Browser } from 'playwright-core';

import { expectSignedIn, launchChromium, openWatchedPage, signIn, type WatchedPage } from './console-browser';
import {
  type ConsoleAccount,
  type ConsoleStack,
  type ConsoleStackOptions,
  startConsoleStack,
} from './console-stack';

/** What a console test file works with: its own stack and browser, ready once `beforeAll` has run. */
export interface ConsoleSuite {
  readonly stack: ConsoleStack;
  readonly browser: Browser;
  /** A new watched page in its own browser context, signed out, at the console's address. */
  openPage(): Promise<WatchedPage>;
  /** As openPage, then signed in through the console's form (the first admin unless told). */
  signedIn(account?: Pick<ConsoleAccount, 'username' | 'password'>): Promise<WatchedPage>;
}

/**
 * Starts the real api+signal and Chromium for the test file (in parallel, in `beforeAll`) and stops
 * them after it. Call it inside the file's `describe`; read `stack` and `browser` in the tests.
 */
export function useConsoleSuite(
  env: Record<string, string> = {},
  options: ConsoleStackOptions = {},
): ConsoleSuite {
  let stack: ConsoleStack | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startConsoleStack(env, options), launchChromium()]);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 60_000);

  const suite: ConsoleSuite = {
    get stack() {
      if (stack === undefined) throw new Error('the console stack is not started (beforeAll)');
      return stack;
    },
    get browser() {
      if (browser === undefined) throw new Error('Chromium is not launched (beforeAll)');
      return browser;
    },
    openPage: () => openWatchedPage(suite.browser, suite.stack.consoleUrl),
    async signedIn(account = suite.stack.admin) {
      const watched = await suite.openPage();
      await signIn(watched.page, account);
      await expectSignedIn(watched.page);
      return watched;
    },
  };
  return suite;
}
