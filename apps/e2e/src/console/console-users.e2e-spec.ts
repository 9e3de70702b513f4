import { expectAccessibleAndPhotograph, signIn } from './support/console-browser';
import { useConsoleSuite } from './support/console-suite';

// The users and access pages of the console in Chromium against the real api: users (create with a
// one-time password, role, disable), groups (a user group with a member and an access rule), API keys
// (shown once, working, then revoked), registration tokens (the deploy command) and strategies; and
// what a viewer sees of them. Every state change is checked through the api itself.

jest.setTimeout(240_000);

interface UserView {
  id: string;
  username: string;
  role: string;
  disabled: boolean;
}

describe('console users, groups, keys, tokens and strategies (Chromium, real api)', () => {
  const suite = useConsoleSuite();

  async function userNamed(username: string): Promise<UserView> {
    const page = await suite.stack.call<{ items: UserView[] }>(
      'GET',
      `/api/v1/users?search=${encodeURIComponent(username)}`,
    );
    const user = page.items.find((candidate) => candidate.username === username);
    if (user === undefined) throw new Error(`no user ${username}`);
    return user;
  }

  it('creates a user with a one-time password shown once, changes its role and disables it', async () => {
    const watched = await suite.signedIn();
    const { page } = watched;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page.getByRole('button', { name: suite.stack.admin.username, exact: true }).waitFor();
    await expectAccessibleAndPhotograph(page, 'users');

    await page.getByRole('button', { name: 'New user' }).click();
    await page.getByLabel('Username').fill('alice.smith');
    await page.getByRole('region', { name: 'New user' }).getByLabel(/^Role/).selectOption('viewer');
    await page.getByLabel('Display name (optional)').fill('Alice Smith');
    await expectAccessibleAndPhotograph(page, 'users-new');
    await page.getByRole('button', { name: 'Create user' }).click();

    const secret = page.getByLabel('One-time password', { exact: true });
    await secret.waitFor();
    const oneTimePassword = (await secret.textContent()) ?? '';
    expect(oneTimePassword.length).toBeGreaterThanOrEqual(12);
    // The api created the user with a password that must be changed, and the panel shows it.
    const created = await userNamed('alice.smith');
    expect(created.role).toBe('viewer');
    await page.getByRole('heading', { level: 2, name: 'alice.smith', exact: true }).waitFor();
    await expectAccessibleAndPhotograph(page, 'users-created');

    // Once: hidden for good after "Done", and never back on a reload.
    await page.getByRole('button', { name: 'Done, hide it' }).click();
    expect(await page.getByText(oneTimePassword).count()).toBe(0);
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'alice.smith', exact: true }).waitFor();
    expect(await page.getByText(oneTimePassword).count()).toBe(0);

    // The password works: the new user signs in and is asked to choose their own.
    const alice = await suite.openPage();
    await signIn(alice.page, { username: 'alice.smith', password: oneTimePassword });
    await alice.page.waitForURL('**/change-password');
    expect(alice.problems()).toEqual([]);
    await alice.close();

    await page.getByLabel('Role of alice.smith').selectOption('operator');
    await page.getByRole('button', { name: 'Change role' }).click();
    await page.getByText('Role changed to operator.').waitFor();
    expect((await userNamed('alice.smith')).role).toBe('operator');

    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Disable alice.smith?' }).waitFor();
    await expectAccessibleAndPhotograph(page, 'users-confirm-disable');
    await dialog.getByRole('button', { name: 'Disable alice.smith' }).click();
    await page.getByText('alice.smith was disabled.').waitFor();
    expect((await userNamed('alice.smith')).disabled).toBe(true);
    await page.getByRole('button', { name: 'Enable', exact: true }).waitFor();
    // The list shows it too.
    const row = page.getByRole('row', { name: /alice\.smith/ });
    await row.getByText('disabled').waitFor();

    // The api's refusal is shown, not swallowed: the last enabled admin cannot be demoted.
    await page.getByRole('button', { name: suite.stack.admin.username, exact: true }).click();
    await page.getByLabel(`Role of ${suite.stack.admin.username}`).selectOption('viewer');
    watched.expectErrors(/status of 409/);
    await page.getByRole('button', { name: 'Change role' }).click();
    await page.getByRole('alert').filter({ hasText: 'last enabled admin' }).waitFor();
    expect((await userNamed(suite.stack.admin.username)).role).toBe('admin');

    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it("ends a user's session, resets their password (shown once) and deletes them, each confirmed", async () => {
    const bob = await suite.stack.createAccount('operator');
    const bobBrowser = await suite.signedIn(bob);
    const { id } = await userNamed(bob.username);
    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto(`/users?user=${id}`);
    const sessions = page.getByRole('row', { name: /Console \(browser\)/ });
    await sessions.waitFor();
    await sessions.getByRole('button', { name: 'End' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`${bob.username} is signed out of Console (browser)`).waitFor();
    await dialog.getByRole('button', { name: 'End session' }).click();
    await page.getByText(`${bob.username} is not signed in anywhere.`).waitFor();
    expect(await suite.stack.call('GET', `/api/v1/users/${id}/sessions`)).toEqual({ sessions: [] });
    await bobBrowser.close();

    await page.getByRole('button', { name: 'Reset password' }).click();
    await dialog.getByRole('button', { name: 'Reset password' }).click();
    const secret = page.getByLabel('One-time password', { exact: true });
    await secret.waitFor();
    const oneTimePassword = (await secret.textContent()) ?? '';
    expect(oneTimePassword).not.toBe(bob.password);
    const again = await suite.openPage();
    await signIn(again.page, { username: bob.username, password: oneTimePassword });
    await again.page.waitForURL('**/change-password');
    await again.close();

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.getByText(/cannot be undone/).waitFor();
    await expectAccessibleAndPhotograph(page, 'users-confirm-delete');
    await dialog.getByRole('button', { name: `Delete ${bob.username}` }).click();
    await page
      .getByRole('heading', { level: 2, name: bob.username, exact: true })
      .waitFor({ state: 'detached' });
    // And the list, once refetched, no longer has them.
    await page.getByRole('button', { name: bob.username, exact: true }).waitFor({ state: 'detached' });
    await expect(suite.stack.call('GET', `/api/v1/users/${id}`)).rejects.toThrow(/404/);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('creates a user group with a member and an access rule to a device group', async () => {
    const member = await suite.stack.createAccount('operator');
    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto('/groups');
    await page.getByRole('heading', { level: 1, name: 'Groups' }).waitFor();
    await page.getByText('No user groups yet.').waitFor();
    await expectAccessibleAndPhotograph(page, 'groups-empty');

    await page.getByLabel('New device group').fill('Servers');
    await page.getByRole('button', { name: 'Create device group' }).click();
    await page.getByRole('row', { name: /Servers/ }).waitFor();

    await page.getByLabel('New user group').fill('Support');
    await page.getByRole('button', { name: 'Create user group' }).click();
    await page.getByRole('heading', { level: 2, name: 'User group Support' }).waitFor();
    await page.getByLabel(/^Add members/).fill(member.username);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('cell', { name: member.username, exact: true }).waitFor();
    await page.getByLabel('Allow a device group').selectOption({ label: 'Servers (0 devices)' });
    await page.getByRole('button', { name: 'Allow' }).first().click();
    await page.getByRole('button', { name: 'Remove access to Servers' }).waitFor();
    await expectAccessibleAndPhotograph(page, 'groups');

    const groups = await suite.stack.call<{ items: { id: string; name: string }[] }>(
      'GET',
      '/api/v1/user-groups',
    );
    const support = groups.items.find((group) => group.name === 'Support');
    if (support === undefined) throw new Error('no group Support');
    const details = await suite.stack.call<{ members: number; deviceGroupAccess: { name: string }[] }>(
      'GET',
      `/api/v1/user-groups/${support.id}`,
    );
    expect(details.members).toBe(1);
    expect(details.deviceGroupAccess.map((rule) => rule.name)).toEqual(['Servers']);
    const members = await suite.stack.call<{ items: { username: string }[] }>(
      'GET',
      `/api/v1/user-groups/${support.id}/members`,
    );
    expect(members.items.map((item) => item.username)).toEqual([member.username]);

    // Taking the member out again is confirmed, naming both.
    await page.getByRole('button', { name: `Remove ${member.username} from Support` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove member' }).click();
    await page.getByText('Support has no members yet.').waitFor();
    await page.getByRole('button', { name: 'Delete group' }).click();
    await page
      .getByRole('dialog')
      .getByText(/1 access rule/)
      .waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete Support' }).click();
    await page.getByText('No user groups yet.').waitFor();
    expect((await suite.stack.call<{ total: number }>('GET', '/api/v1/user-groups')).total).toBe(0);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('shows a new API key once; it works as X-API-Key until revoked through the console', async () => {
    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto('/keys');
    await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
    await page.getByRole('button', { name: 'New API key' }).click();
    await page.getByLabel('Name (what uses it)').fill('inventory script');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByLabel('Expires').selectOption('30');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = page.getByLabel('API key', { exact: true });
    await secret.waitFor();
    const key = (await secret.textContent()) ?? '';
    expect(key).toMatch(/^sbk_/);
    await page.getByText(/it expires /).waitFor();
    await expectAccessibleAndPhotograph(page, 'api-keys-created');

    const devices = () =>
      fetch(`${suite.stack.api.baseUrl}/api/v1/devices`, { headers: { 'x-api-key': key } }).then(
        (response) => response.status,
      );
    expect(await devices()).toBe(200);

    await page.getByRole('button', { name: 'Done, hide it' }).click();
    await page.getByRole('button', { name: 'Revoke inventory script' }).click();
    await page
      .getByRole('dialog')
      .getByText(/stops working at once/)
      .waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await page
      .getByRole('row', { name: /inventory script/ })
      .getByText('revoked')
      .waitFor();
    expect(await devices()).toBe(401);

    // Everyone's keys, for an admin (api_key.manage_all).
    await page.getByLabel('Show').selectOption({ label: 'Everyone’s keys' });
    await page.getByRole('columnheader', { name: 'Owner' }).waitFor();
    await expectAccessibleAndPhotograph(page, 'api-keys');
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('creates a registration token and copies the exact rustdesk --deploy command', async () => {
    const watched = await suite.signedIn();
    const { page, context } = watched;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: suite.stack.consoleUrl });
    await page.goto('/tokens');
    await page.getByText('No registration tokens yet.').waitFor();
    await expectAccessibleAndPhotograph(page, 'tokens-empty');
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByLabel('Name (where it is used)').fill('Berlin office');
    await page.getByLabel(/^Most devices/).fill('25');
    await page.getByRole('button', { name: 'Create token' }).click();

    const token = (await page.getByLabel('Token', { exact: true }).textContent()) ?? '';
    expect(token.length).toBeGreaterThan(16);
    const command = await page.getByLabel('Deploy command').textContent();
    expect(command).toBe(`rustdesk --deploy --token ${token}`);
    await page.getByRole('button', { name: 'Copy command' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(`rustdesk --deploy --token ${token}`);
    await expectAccessibleAndPhotograph(page, 'tokens-created');

    const listed = await suite.stack.call<{ id: string; name: string; maxUses: number; status: string }[]>(
      'GET',
      '/api/v1/registration-tokens',
    );
    expect(listed).toEqual([
      expect.objectContaining({ name: 'Berlin office', maxUses: 25, status: 'active' }),
    ]);

    await page.getByRole('button', { name: 'Done, hide it' }).click();
    await page.getByRole('button', { name: 'Revoke Berlin office' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await page
      .getByRole('row', { name: /Berlin office/ })
      .getByText('revoked')
      .waitFor();
    const after = await suite.stack.call<{ status: string }[]>('GET', '/api/v1/registration-tokens');
    expect(after.map((item) => item.status)).toEqual(['revoked']);
    await expectAccessibleAndPhotograph(page, 'tokens');
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('creates, edits, assigns and deletes a strategy with only the allowed option keys', async () => {
    const owner = await suite.stack.createAccount('operator');
    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto('/strategies');
    await page.getByText(/No strategies yet/).waitFor();
    await page.getByRole('button', { name: 'New strategy' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Locked down');
    await page.getByRole('button', { name: 'Add option' }).click();
    const keys = await page.getByLabel('Option 1').locator('option').allTextContents();
    expect(keys).toContain('enable-audio');
    expect(keys).not.toContain('no-such-option');
    await page.getByLabel('Option 1').selectOption('enable-clipboard');
    await page.getByLabel('Value of enable-clipboard').fill('N');
    await expectAccessibleAndPhotograph(page, 'strategies-new');
    await page.getByRole('button', { name: 'Create strategy' }).click();
    await page.getByRole('heading', { level: 2, name: 'Strategy Locked down' }).waitFor();

    await page.getByRole('button', { name: 'Add option' }).click();
    await page.getByLabel('Option 2').selectOption('enable-file-transfer');
    await page.getByLabel('Value of enable-file-transfer').fill('N');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/Saved: devices get the change/).waitFor();
    const [strategy] = await suite.stack.call<{ id: string; options: Record<string, string> }[]>(
      'GET',
      '/api/v1/strategies',
    );
    expect(strategy?.options).toEqual({ 'enable-clipboard': 'N', 'enable-file-transfer': 'N' });

    await page.getByLabel('Assign to').selectOption('user');
    await page.getByLabel('Which user (username)').fill(owner.username);
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByText(`Locked down is now assigned to the user ${owner.username}.`).waitFor();
    await expectAccessibleAndPhotograph(page, 'strategies');
    // An unknown target is the api's 400, shown in place.
    watched.expectErrors(/status of 400/);
    await page.getByLabel('Which user (username)').fill('nobody-here');
    await page.getByRole('button', { name: 'Assign', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'no such user' }).waitFor();

    await page.getByRole('button', { name: 'Delete strategy' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete Locked down' }).click();
    await page.getByText(/No strategies yet/).waitFor();
    expect(await suite.stack.call('GET', '/api/v1/strategies')).toEqual([]);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('shows a viewer no menu entry it may not use, and refuses the users page cleanly', async () => {
    const viewer = await suite.stack.createAccount('viewer');
    const watched = await suite.signedIn(viewer);
    const { page } = watched;
    const menu = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(menu).toContain('API keys');
    for (const hidden of ['Users', 'Groups', 'Strategies', 'Registration tokens']) {
      expect(menu).not.toContain(hidden);
    }

    watched.expectErrors(/status of 403/);
    await page.goto('/users');
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page
      .getByRole('alert')
      .filter({ hasText: /permission|forbidden/i })
      .waitFor();
    expect(await page.getByRole('button', { name: 'New user' }).count()).toBe(0);
    await expectAccessibleAndPhotograph(page, 'viewer-users');

    await page.goto('/tokens');
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('button', { name: 'New token' }).count()).toBe(0);

    // Strategies are readable with device.view, but not changeable.
    await page.goto('/strategies');
    await page.getByText(/No strategies yet/).waitFor();
    expect(await page.getByRole('button', { name: 'New strategy' }).count()).toBe(0);
    await expectAccessibleAndPhotograph(page, 'viewer-strategies');

    // A viewer's own keys: the role offered is no higher than theirs.
    await page.goto('/keys');
    await page.getByRole('button', { name: 'New API key' }).click();
    expect(await page.getByLabel('Role').locator('option').allTextContents()).toEqual([
      expect.stringMatching(/^viewer/),
    ]);
    expect(await page.getByLabel('Show').count()).toBe(0);
    await expectAccessibleAndPhotograph(page, 'viewer-api-keys');
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });
});
