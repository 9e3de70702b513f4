import { expectAccessibleAndPhotograph } from './support/console-browser';
import { useConsoleSuite } from './support/console-suite';

// The relay IP lists page in Chromium against the real api: an admin puts addresses on the blocklist
// and the blacklist and sees the form the relays compare (RFC 5952 IPv6, IPv4-mapped as IPv4), the
// api's refusals in place (a range is a field error, a repeat a conflict), and takes them off again,
// each removal confirmed. Every change is checked through the api itself.

jest.setTimeout(240_000);

interface RelayIpListEntry {
  list: 'blocklist' | 'blacklist';
  address: string;
  note: string;
  createdBy: { username: string } | null;
}

describe('console relay IP lists (Chromium, real api)', () => {
  const suite = useConsoleSuite();
  const entries = () => suite.stack.call<RelayIpListEntry[]>('GET', '/api/v1/relay-ip-lists');

  it('adds addresses in their canonical form, shows field errors and conflicts, and removes them', async () => {
    const watched = await suite.signedIn();
    const { page } = watched;
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Relay IP lists' })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Relay IP lists' }).waitFor();
    await page.getByText(/No addresses on either list/).waitFor();
    await expectAccessibleAndPhotograph(page, 'relay-ip-lists-empty');

    await page.getByRole('button', { name: 'Add an address' }).click();
    const form = page.getByRole('region', { name: 'Add an address' });
    const address = form.getByLabel('IP address', { exact: true });
    await form.getByLabel(/^List/).selectOption('blocklist');
    // Mixed case and written out in full: stored, and shown, as RFC 5952 has it.
    await address.fill('2001:DB8:0:0:0:0:0:1A');
    await form.getByLabel(/^Note/).fill('port scanner');
    await form.getByRole('button', { name: 'Add to the blocklist' }).click();
    await form.getByRole('status').filter({ hasText: '2001:db8::1a is now on the blocklist.' }).waitFor();
    const row = page.getByRole('row', { name: /2001:db8::1a/ });
    await row.getByRole('cell', { name: 'port scanner' }).waitFor();
    await row.getByRole('cell', { name: suite.stack.admin.username, exact: true }).waitFor();
    expect(await address.inputValue()).toBe('');
    expect(await entries()).toEqual([
      expect.objectContaining({
        list: 'blocklist',
        address: '2001:db8::1a',
        note: 'port scanner',
        createdBy: expect.objectContaining({ username: suite.stack.admin.username }),
      }),
    ]);

    // A range is the api's 400, shown beside the field it is about.
    const badRequest = watched.expectErrors(/status of 400/);
    await address.fill('10.0.0.0/8');
    await form.getByRole('button', { name: 'Add to the blocklist' }).click();
    await form.getByText('The IP address must be one IPv4 or IPv6 address (no range)').waitFor();
    expect(await address.getAttribute('aria-invalid')).toBe('true');
    expect(await address.getAttribute('aria-describedby')).toContain('add-ip-address-error');
    await expectAccessibleAndPhotograph(page, 'relay-ip-lists-bad-address');
    badRequest();

    // The same address in another spelling is the api's 409, shown as the form's refusal.
    const conflict = watched.expectErrors(/status of 409/);
    await address.fill('2001:db8::1A');
    await form.getByRole('button', { name: 'Add to the blocklist' }).click();
    await form.getByRole('alert').filter({ hasText: '2001:db8::1a is already on the blocklist' }).waitFor();
    expect(await form.getByText(/The IP address must/).count()).toBe(0);
    conflict();

    // An IPv4-mapped IPv6 address goes on as the IPv4 address the relays see.
    await form.getByLabel(/^List/).selectOption('blacklist');
    await address.fill('::ffff:192.0.2.7');
    await form.getByLabel(/^Note/).fill('');
    await form.getByRole('button', { name: 'Add to the blacklist' }).click();
    await form.getByRole('status').filter({ hasText: '192.0.2.7 is now on the blacklist.' }).waitFor();
    await page.getByRole('row', { name: /192\.0\.2\.7/ }).waitFor();
    await expectAccessibleAndPhotograph(page, 'relay-ip-lists');

    await page.getByRole('button', { name: 'Remove 2001:db8::1a from the blocklist' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Take 2001:db8::1a off the blocklist?' }).waitFor();
    await expectAccessibleAndPhotograph(page, 'relay-ip-lists-confirm-remove');
    await dialog.getByRole('button', { name: 'Remove address' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await entries()).map((entry) => `${entry.list} ${entry.address}`)).toEqual([
      'blacklist 192.0.2.7',
    ]);

    await page.getByRole('button', { name: 'Remove 192.0.2.7 from the blacklist' }).click();
    await dialog.getByRole('button', { name: 'Remove address' }).click();
    await page.getByText(/No addresses on either list/).waitFor();
    expect(await entries()).toEqual([]);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('offers an operator neither the menu entry nor the form; the page by its address shows the refusal', async () => {
    const operator = await suite.stack.createAccount('operator');
    const watched = await suite.signedIn(operator);
    const { page } = watched;
    const menu = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(menu).not.toContain('Relay IP lists');

    watched.expectErrors(/status of 403/);
    await page.goto('/relay-ip-lists');
    await page.getByRole('heading', { level: 1, name: 'Relay IP lists' }).waitFor();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('button', { name: 'Add an address' }).count()).toBe(0);
    await expectAccessibleAndPhotograph(page, 'operator-relay-ip-lists');
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });
});
