import {
  screenshotBothWidths,
  screenshotDark,
  seriousAccessibilityViolations,
  seriousViolationsInBothSchemes,
} from './support/console-browser';
import { useConsoleSuite } from './support/console-suite';
import { type ConsoleRole } from './support/console-stack';

// Every role walks every page its menu offers, in Chromium against the real api: each page renders its
// heading with no console error, CSP violation, uncaught exception or serious accessibility finding
// (in the light and the dark colour scheme),
// and is photographed at desktop and phone width. The menu offers exactly what the role may use
// (apps/api/src/auth/permissions.ts); a page outside it, opened by its address, shows the api's refusal.

jest.setTimeout(240_000);

const MENU: Readonly<Record<ConsoleRole, readonly string[]>> = {
  admin: [
    'Dashboard',
    'Devices',
    'Users',
    'Groups',
    'Strategies',
    'API keys',
    'Registration tokens',
    'Relay IP lists',
    'Audit',
    'Settings',
    'My account',
  ],
  operator: ['Dashboard', 'Devices', 'API keys', 'Audit', 'My account'],
  viewer: ['Dashboard', 'Devices', 'API keys', 'Audit', 'My account'],
};

describe('each role’s console (Chromium, real api)', () => {
  const suite = useConsoleSuite();

  it.each(['admin', 'operator', 'viewer'] as const)(
    '%s sees exactly the pages they may use, and each is clean and accessible',
    async (role) => {
      const account = role === 'admin' ? suite.stack.admin : await suite.stack.createAccount(role);
      const watched = await suite.signedIn(account);
      const { page } = watched;

      const menu = page.getByRole('navigation', { name: 'Main' });
      const offered = await menu.getByRole('link').allTextContents();
      expect(offered).toEqual(MENU[role]);

      for (const label of MENU[role]) {
        await menu.getByRole('link', { name: label, exact: true }).click();
        await page.getByRole('heading', { level: 1, name: label }).waitFor();
        // Let the page's own calls settle, so their failures (if any) are seen.
        await page.waitForLoadState('networkidle');
        expect({ label, violations: await seriousViolationsInBothSchemes(page) }).toEqual({
          label,
          violations: [],
        });
        const name = `${role}-${label.toLowerCase().replace(/\s+/g, '-')}`;
        await screenshotBothWidths(page, name);
        if (role === 'admin') await screenshotDark(page, name);
      }
      expect(watched.problems()).toEqual([]);
      await watched.close();
    },
  );

  it('a page outside the viewer’s menu, opened by its address, shows the api’s refusal with its request id', async () => {
    const account = await suite.stack.createAccount('viewer');
    const watched = await suite.signedIn(account);
    const { page } = watched;
    watched.expectErrors(/status of 403/);
    await page.goto('/users');
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/request id/);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });
});
