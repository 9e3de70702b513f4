import { randomInt, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { type Page } from 'playwright-core';

import { RegisterPkResponse_Result } from '@switchboard/protocol';
import { readUntil } from '@switchboard/test-net';

import { answered, Fleet, newMachine } from '../support/fleet';
import { expectAccessibleAndPhotograph, screenshotBothWidths } from './support/console-browser';
import { type ConsoleStack } from './support/console-stack';
import { useConsoleSuite } from './support/console-suite';

// The Audit and Settings pages in Chromium against the real api: the chain lists what earlier
// actions recorded, filters narrow it, the CSV export downloads the filtered rows, verification says
// OK; the RustDesk client records a real device reported; a settings change made in the page is what
// the API then answers; a viewer gets the log read-only and no settings at all.

jest.setTimeout(240_000);

interface Setting {
  key: string;
  value: unknown;
}

describe('console Audit and Settings pages (Chromium, real api)', () => {
  // Declared first, so it runs first: the fleet's links close before the stack stops.
  afterAll(async () => {
    await fleet?.stopAll();
  }, 60_000);
  const suite = useConsoleSuite();
  let fleet: Fleet | undefined;
  const deviceId = { value: '' };

  beforeAll(async () => {
    // Entries of known kinds to find in the log: a user made and a setting written through the API.
    await suite.stack.createAccount('operator');
    await suite.stack.call('PUT', '/api/v1/settings/e2e.marker', { value: { note: 'written by the test' } });
    // A device registers with the real signal and reports a connection and an alarm, as RustDesk does.
    fleet = new Fleet({
      host: suite.stack.signal.host,
      port: suite.stack.signal.port,
      key: suite.stack.signal.publicKeyFile,
    });
    const machine = newMachine();
    const { outcome } = await fleet.register(machine, 'tcp');
    expect(outcome).toEqual(answered(RegisterPkResponse_Result.OK));
    deviceId.value = machine.id;
    const identity = { id: machine.id, uuid: machine.uuid.toString('base64') };
    const connId = randomInt(1, 2 ** 31 - 1);
    // Signal writes the device row asynchronously: until then the post is refused.
    await readUntil(
      () =>
        post(suite.stack, '/api/audit/conn', {
          ...identity,
          conn_id: connId,
          session_id: 42,
          nonce: randomUUID(),
          action: 'new',
          ip: '127.0.0.2',
        }),
      (status) => status === 200,
      15_000,
    );
    expect(
      await post(suite.stack, '/api/audit/conn', {
        ...identity,
        conn_id: connId,
        session_id: 42,
        nonce: randomUUID(),
        peer: ['123456789', 'helpdesk-pc'],
        type: 0,
        primary_auth: 2,
      }),
    ).toBe(200);
    expect(
      await post(suite.stack, '/api/audit/alarm', {
        ...identity,
        typ: 2,
        info: JSON.stringify({ ip: '198.51.100.7' }),
        conn_id: connId,
        nonce: randomUUID(),
      }),
    ).toBe(200);
  }, 200_000);

  it('lists earlier actions, narrows by a filter, exports the filtered rows as CSV and verifies the chain', async () => {
    const watched = await suite.signedIn();
    const { page } = watched;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Operator log' }).waitFor();
    const table = page.getByRole('table', { name: 'Audit entries, newest first' });
    await table.waitFor();
    const actions = () => actionCells(page);
    // The earlier actions: the user made and the setting written through the API, and this sign-in.
    const earlier = ['user.created', 'setting.changed', 'auth.login'];
    expect(await eventually(actions, includesAll(earlier))).toEqual(expect.arrayContaining(earlier));
    await expectAccessibleAndPhotograph(page, 'audit');

    // A details disclosure shows the entry's JSON and its hashes.
    await table.getByText('Show').first().click();
    await table.locator('pre').first().waitFor();

    // Filter by action: only setting.changed rows remain, and the address carries the filter.
    await page.getByLabel('Action').fill('setting.changed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=setting.changed/);
    expect(await eventually(actions, onlyOf('setting.changed'))).toEqual(
      expect.arrayContaining(['setting.changed']),
    );
    expect(await actions()).not.toContain('user.created');
    await screenshotBothWidths(page, 'audit-filtered');

    // The export is a real file download of the same filter (the CSP lets the blob: URL through).
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^audit-[\dT-]+Z\.csv$/);
    const path = await download.path();
    const csv = await readFile(path, 'utf8');
    const [header, ...rows] = csv.trimEnd().split('\r\n');
    expect(header).toBe(
      'seq,at,actor_type,actor_id,action,target_type,target_id,ip,details,key_id,prev_hash,hash',
    );
    expect(rows.length).toBeGreaterThanOrEqual(1);
    for (const row of rows) expect(row.split(',')[4]).toBe('setting.changed');
    expect(csv).toContain('e2e.marker');

    // Clicking an action in the list is a filter too; Clear goes back to everything.
    await page.getByRole('button', { name: 'Clear' }).click();
    const afterExport = ['user.created', 'audit.exported'];
    expect(await eventually(actions, includesAll(afterExport))).toEqual(expect.arrayContaining(afterExport));
    await page.getByRole('button', { name: 'Show only user.created entries' }).first().click();
    expect(await eventually(actions, onlyOf('user.created'))).toEqual(['user.created']);
    await page.getByRole('button', { name: 'Clear' }).click();

    await page.getByRole('button', { name: 'Verify chain' }).click();
    const verdict = page.getByRole('status').filter({ hasText: 'Chain OK.' });
    await verdict.waitFor();
    expect(await verdict.textContent()).toMatch(/Chain OK\. \d+ entries checked up to #\d+/);
    // Verifying is recorded, and the list shows it.
    expect(await eventually(actions, includesAll(['audit.verified']))).toContain('audit.verified');
    await screenshotBothWidths(page, 'audit-verified');
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('shows the connections and alarms a RustDesk client reported, filtered, and exports them', async () => {
    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto('/audit');
    await page.getByRole('tab', { name: 'RustDesk clients' }).click();
    const connections = page.getByRole('table', { name: 'Connections, newest first' });
    await connections.waitFor();
    const row = connections.getByRole('row').filter({ hasText: deviceId.value });
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain('helpdesk-pc');
    expect(await row.textContent()).toContain('Remote control');
    await expectAccessibleAndPhotograph(page, 'audit-clients');

    // Alarms of this device; then a filter that matches nothing shows the empty state.
    await page.getByLabel('Record type').selectOption('alarms');
    const alarms = page.getByRole('table', { name: 'Alarms, newest first' });
    await alarms.waitFor();
    expect(await alarms.textContent()).toContain('Six failed attempts within a minute');
    await page.getByLabel('Device id').fill(deviceId.value);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/device=/);
    await alarms.waitFor();
    await screenshotBothWidths(page, 'audit-clients-alarms');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^client-audit-alarms-.*\.csv$/);
    const csv = await readFile(await download.path(), 'utf8');
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^id,created_at,device_id,alarm_type/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(deviceId.value);

    await page.locator('select[name="type"]').selectOption({ label: 'IP not on the whitelist' });
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByText('No alarms match these filters.').waitFor();
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('changes settings through the page, which the API then answers, and removes one', async () => {
    const watched = await suite.signedIn();
    const { page } = watched;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Registration policy' }).waitFor();
    await expectAccessibleAndPhotograph(page, 'settings');

    await page.getByLabel('Approval').check();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Set by you').waitFor();
    expect(await suite.stack.call<Setting>('GET', '/api/v1/settings/registration.policy')).toMatchObject({
      value: 'approval',
    });

    // A relay the clients are given: refused in the page when malformed, stored when right.
    const relay = page.getByRole('textbox', { name: 'Relay server' });
    await relay.fill('not a host!');
    await page.getByRole('button', { name: 'Save Relay server' }).click();
    await page.getByText('Relay server must be host or host:port').waitFor();
    await relay.fill('relay.example.com:21117');
    await page.getByRole('button', { name: 'Save Relay server' }).click();
    const stored = async () =>
      (await suite.stack.call<{ settings: Setting[] }>('GET', '/api/v1/settings')).settings;
    const relaySet = (settings: Setting[]) =>
      settings.some(
        (setting) => setting.key === 'client.relay_server' && setting.value === 'relay.example.com:21117',
      );
    expect(relaySet(await eventually(stored, relaySet))).toBe(true);
    // Without PUBLIC_URL there is no ID server to configure clients with until one is set here.
    const config = page.getByRole('region', { name: 'Client configuration' });
    await config.getByText('No configuration string without an ID server').waitFor();
    await page.getByRole('textbox', { name: 'ID server' }).fill('rustdesk.example.com');
    await page.getByRole('button', { name: 'Save ID server' }).click();
    // The client configuration follows: the same string as the API's, as text and as a QR code.
    const info = await eventually(
      () =>
        suite.stack.call<{ configString: string | null; relayServer: string | null }>(
          'GET',
          '/api/v1/server-info',
        ),
      (answer) => answer.relayServer === 'relay.example.com:21117' && answer.configString !== null,
    );
    expect(info.configString).not.toBeNull();
    await config.getByText(info.configString ?? '', { exact: true }).waitFor();
    await config.getByRole('img', { name: 'QR code of the client configuration string' }).waitFor();
    await page
      .getByRole('region', { name: 'Relay nodes' })
      .getByText(/relay|Relay/)
      .first()
      .waitFor();
    await expectAccessibleAndPhotograph(page, 'settings-changed');

    // Removing the marker says what goes, and it is gone from the API.
    await page.getByRole('button', { name: 'Remove e2e.marker' }).click();
    const dialog = page.getByRole('dialog', { name: 'Remove e2e.marker?' });
    expect(await dialog.textContent()).toContain('written by the test');
    await screenshotBothWidths(page, 'settings-remove');
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const keys = (await suite.stack.call<{ settings: Setting[] }>('GET', '/api/v1/settings')).settings.map(
      (s) => s.key,
    );
    expect(keys).not.toContain('e2e.marker');
    expect(keys).toContain('registration.policy');

    // The changes are in the log, made by this admin.
    await page.goto('/audit?view=log&action=setting.changed');
    const changed = ['registration.policy', 'client.relay_server', 'client.id_server', 'e2e.marker'];
    expect(await eventually(() => targetCells(page), includesAll(changed))).toEqual(
      expect.arrayContaining(changed),
    );
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('gives a viewer the log without export or verification, and no settings controls', async () => {
    const viewer = await suite.stack.createAccount('viewer');
    const watched = await suite.signedIn(viewer);
    const { page } = watched;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('table', { name: 'Audit entries, newest first' }).waitFor();
    expect(await page.getByRole('button', { name: 'Export CSV' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Verify chain' }).count()).toBe(0);
    // Settings values in the entries are cut to what a viewer may read.
    await page.goto('/audit?view=log&action=setting.changed');
    await page.getByText('redacted').first().waitFor();
    await expectAccessibleAndPhotograph(page, 'audit-viewer');

    // No menu entry, and by address the api's refusal with its request id, and not one control.
    expect(
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).count(),
    ).toBe(0);
    watched.expectErrors(/status of 403/);
    await page.goto('/settings');
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/request id/);
    expect(await page.getByRole('radio').count()).toBe(0);
    expect(await page.getByRole('textbox').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Save|Remove/ }).count()).toBe(0);
    await expectAccessibleAndPhotograph(page, 'settings-viewer');
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });
});

/** Reads until `done` holds (the page refetches in the background), at most 15 s: the last reading. */
function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  return readUntil(read, done, 15_000);
}
const includesAll = (wanted: readonly string[]) => (list: readonly string[]) =>
  wanted.every((item) => list.includes(item));
const onlyOf = (wanted: string) => (list: readonly string[]) =>
  list.length > 0 && list.every((item) => item === wanted);

/** The action column of the audit table as shown. */
async function actionCells(page: Page): Promise<string[]> {
  return page
    .getByRole('table', { name: 'Audit entries, newest first' })
    .locator('tbody tr td:nth-child(4)')
    .allTextContents();
}

async function targetCells(page: Page): Promise<string[]> {
  const cells = await page
    .getByRole('table', { name: 'Audit entries, newest first' })
    .locator('tbody tr td:nth-child(5) button')
    .allTextContents();
  return cells;
}

/** A RustDesk client's audit post (JSON text, no token); the answer's status. */
async function post(stack: ConsoleStack, path: string, body: object): Promise<number> {
  const response = await fetch(`${stack.api.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await response.text();
  return response.status;
}
