import {
  expectAccessibleAndPhotograph,
  expectSignedIn,
  screenshotBothWidths,
  seriousAccessibilityViolations,
  signIn,
} from './support/console-browser';
import { totpCode } from './support/authenticator';
import { useConsoleSuite } from './support/console-suite';

// Signing in to the console in Chromium against the real api: the password step, the TOTP and
// recovery-code steps, a forced password change, the lockout countdown and signing out.

jest.setTimeout(180_000);

describe('console sign-in (Chromium, real api)', () => {
  // A short ladder, so the lockout shows without dozens of attempts; every other flow signs in right.
  const suite = useConsoleSuite({ LOGIN_ACCOUNT_MAX_FAILURES: '2', LOGIN_LOCK_STEPS_SECONDS: '20' });

  it('signs in with a password and out again, with no console error, CSP violation or serious a11y finding', async () => {
    const watched = await suite.openPage();
    const { page } = watched;
    await page.goto('/');
    // Signed out, the console sends the visitor to the sign-in form (without an API call that fails).
    await page.waitForURL('**/sign-in');
    await expectAccessibleAndPhotograph(page, 'sign-in');

    await signIn(page, suite.stack.admin);
    await expectSignedIn(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    // The session is really gone: the api refuses the old cookie.
    watched.expectErrors(/status of 401/);
    const me = await page.evaluate("fetch('/api/v1/auth/me').then((response) => response.status)");
    expect(me).toBe(401);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('shows the api’s refusal for a wrong password, then a lockout countdown that keeps the button off', async () => {
    const account = await suite.stack.createAccount('viewer');
    const watched = await suite.openPage();
    const { page } = watched;
    watched.expectErrors(/status of (401|429)/);
    await signIn(page, { username: account.username, password: 'not-the-password' });
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/invalid|incorrect|wrong/i);

    await signIn(page, { username: account.username, password: 'still-not-the-password' });
    await signIn(page, { username: account.username, password: account.password });
    // Two failures locked the account for 20 s, so even the right password is refused now, and the
    // form counts down from the api's Retry-After.
    const button = page.getByRole('button', { name: /Try again in \d+ s/ });
    await button.waitFor();
    expect(await button.isDisabled()).toBe(true);
    const first = Number((await button.textContent())?.match(/\d+/)?.[0]);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(20);
    // It ticks, down to the moment the form offers "Sign in" again. (Read from here: the page's CSP
    // forbids evaluating strings in it.)
    const submit = page.locator('form button[type=submit]');
    const ticked = (text: string | null) => text === 'Sign in' || Number(text?.match(/\d+/)?.[0]) < first;
    const deadline = Date.now() + 25_000;
    let text = await submit.textContent();
    while (!ticked(text) && Date.now() < deadline) {
      await page.waitForTimeout(250);
      text = await submit.textContent();
    }
    expect(ticked(text)).toBe(true);
    await screenshotBothWidths(page, 'sign-in-locked');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('makes a user whose password was set by someone else choose a new one before anything else', async () => {
    const account = await suite.stack.createAccount('operator', { mustChange: true });
    const watched = await suite.openPage();
    const { page } = watched;
    await signIn(page, account);
    await page.waitForURL('**/change-password');
    // Not around it: any other page sends the user back.
    await page.goto('/devices');
    await page.waitForURL('**/change-password');
    await expectAccessibleAndPhotograph(page, 'change-password');

    const newPassword = 'a brand new passphrase 42';
    await page.getByLabel('Current password').fill(account.password);
    await page.getByLabel(/^New password/).fill(newPassword);
    await page.getByLabel('Repeat the new password').fill(newPassword);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expectSignedIn(page);
    await page.waitForURL((url) => url.pathname === '/');
    expect(watched.problems()).toEqual([]);
    await watched.close();

    // The new password is the one that works now.
    const again = await suite.openPage();
    await signIn(again.page, { username: account.username, password: newPassword });
    await expectSignedIn(again.page);
    expect(again.problems()).toEqual([]);
    await again.close();
  });

  it('asks a user with 2FA for the authenticator code, or a recovery code instead', async () => {
    const account = await suite.stack.createAccount('viewer');
    const token = await suite.stack.userToken(account);
    const enrolment = await suite.stack.callAs<{ secret: string }>(
      token,
      'POST',
      '/api/v1/auth/totp/enroll',
      {
        password: account.password,
      },
    );
    // The previous step's code confirms, so the current step's is still unused for the sign-in below.
    const confirmed = await suite.stack.callAs<{ recoveryCodes: string[] }>(
      token,
      'POST',
      '/api/v1/auth/totp/confirm',
      {
        code: await totpCode(enrolment.secret, -1),
      },
    );

    const watched = await suite.openPage();
    const { page } = watched;
    await signIn(page, account);
    const codeField = page.getByLabel('Code from your authenticator app');
    await codeField.waitFor();
    await expectAccessibleAndPhotograph(page, 'sign-in-totp');
    await codeField.fill(await totpCode(enrolment.secret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expectSignedIn(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();

    await signIn(page, account);
    await page.getByRole('button', { name: 'Use a recovery code instead' }).click();
    const recoveryCode = confirmed.recoveryCodes[0];
    if (recoveryCode === undefined) throw new Error('no recovery codes');
    await page.getByLabel('Recovery code').fill(recoveryCode);
    await page.getByRole('button', { name: 'Verify' }).click();
    await expectSignedIn(page);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });
});
