import { readFile } from 'node:fs/promises';

import {
  expectAccessibleAndPhotograph,
  expectSignedIn,
  screenshotBothWidths,
  signIn,
} from './support/console-browser';
import { totpCode } from './support/authenticator';
import { useConsoleSuite } from './support/console-suite';

// The My account page in Chromium against the real api: 2FA enrolment with a real authenticator
// code, recovery codes shown once, the next sign-in asking for a code, new recovery codes, turning
// 2FA off with a recovery code; the sessions list, ending another session and then this one.

jest.setTimeout(240_000);

interface Me {
  totpEnabled: boolean;
}

describe('console My account page (Chromium, real api)', () => {
  const suite = useConsoleSuite();

  it('enrols 2FA with a real code, shows the recovery codes once, then asks for a code at sign-in', async () => {
    const account = await suite.stack.createAccount('viewer');
    const watched = await suite.signedIn(account);
    const { page } = watched;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My account' }).click();
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await page.getByRole('table', { name: 'My sessions' }).waitFor();
    await expectAccessibleAndPhotograph(page, 'account');

    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    // A wrong password is the api's refusal, shown in place.
    watched.expectErrors(/status of (400|401|403)/);
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill('not my password');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill(account.password);
    await page.getByRole('button', { name: 'Continue' }).click();
    const secret = (await page.locator('.account-secret code').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await page.getByRole('img', { name: /QR code of the two-factor secret/ }).waitFor();
    await expectAccessibleAndPhotograph(page, 'account-totp-enrol');

    // The previous step's code confirms, so the current one is still unused for the sign-in below.
    await page.getByLabel('The 6-digit code the app shows now').fill(await totpCode(secret, -1));
    await page.getByRole('button', { name: 'Turn on two-factor authentication' }).click();
    const once = page.getByRole('region', { name: 'Recovery codes' });
    await once.waitFor();
    const codes = await once.locator('li code').allTextContents();
    expect(codes.length).toBeGreaterThanOrEqual(8);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      once.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`switchboard-recovery-codes-${account.username}.txt`);
    expect((await readFile(await download.path(), 'utf8')).trim().split('\n')).toEqual(codes);
    await expectAccessibleAndPhotograph(page, 'account-recovery-codes');
    await once.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByText('Signing in asks for a code').waitFor();

    // Shown once: not after a reload either.
    await page.reload();
    await page.getByText('Signing in asks for a code').waitFor();
    expect(await page.getByText(codes[0] ?? 'none').count()).toBe(0);
    await screenshotBothWidths(page, 'account-totp-on');

    // A fresh sign-in now asks for the authenticator's code.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    await signIn(page, account);
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expectSignedIn(page);

    // New recovery codes (the next step's code; the current one opened the sign-in) replace the old.
    await page.goto('/account');
    await page.getByRole('button', { name: 'New recovery codes' }).click();
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(secret, 1));
    await page.getByRole('button', { name: 'Replace my recovery codes' }).click();
    const fresh = page.getByRole('region', { name: 'Recovery codes' });
    await fresh.waitFor();
    const newCodes = await fresh.locator('li code').allTextContents();
    expect(newCodes).not.toContain(codes[0]);
    await fresh.getByRole('button', { name: 'I have saved them' }).click();

    // Turned off with the password and one of the new recovery codes.
    await page.getByRole('button', { name: 'Turn off…' }).click();
    await page.getByRole('textbox', { name: 'Password', exact: true }).fill(account.password);
    await page.getByLabel('Code from your authenticator app, or a recovery code').fill(newCodes[0] ?? '');
    await page.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).waitFor();
    const me = await page.evaluate(() =>
      fetch('/api/v1/auth/me').then((response) => response.json() as Promise<Me>),
    );
    expect(me.totpEnabled).toBe(false);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('lists my sessions, ends another one (that browser is signed out), then this one', async () => {
    const account = await suite.stack.createAccount('operator');
    const other = await suite.openPage();
    await signIn(other.page, account);
    await expectSignedIn(other.page);

    const watched = await suite.signedIn(account);
    const { page } = watched;
    await page.goto('/account');
    const table = page.getByRole('table', { name: 'My sessions' });
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(2);
    expect(await table.getByText('this browser').count()).toBe(1);

    const endOther = table
      .locator('tbody tr')
      .filter({ hasNotText: 'this browser' })
      .getByRole('button', { name: /^End session/ });
    await endOther.click();
    const dialog = page.getByRole('dialog', { name: 'End this session?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toMatch(/Console: .* will be signed out/);
    await expectAccessibleAndPhotograph(page, 'account-end-session');
    await dialog.getByRole('button', { name: 'End session' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await table.locator('tbody tr').nth(1).waitFor({ state: 'detached' });
    expect(await table.locator('tbody tr').count()).toBe(1);

    // The other browser's session is gone: its next page load is the sign-in form.
    other.expectErrors(/status of 401/);
    await other.page.goto('/account');
    await other.page.waitForURL('**/sign-in**');
    expect(other.problems()).toEqual([]);
    await other.close();

    // Ending this browser's own session signs me out.
    await table.getByRole('button', { name: /^End session.*\(this browser\)/ }).click();
    const own = page.getByRole('dialog', { name: 'Sign out of this browser?' });
    await own.getByRole('button', { name: 'End and sign out' }).click();
    await page.waitForURL('**/sign-in**');
    await page.getByLabel('Username').waitFor();
    watched.expectErrors(/status of 401/);
    const status = await page.evaluate(() => fetch('/api/v1/auth/me').then((response) => response.status));
    expect(status).toBe(401);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });
});
