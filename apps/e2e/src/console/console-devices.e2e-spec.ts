import { randomInt, randomUUID } from 'node:crypto';

import { type Page } from 'playwright-core';

import { NatType } from '@switchboard/protocol';
import { type RustDeskPeer } from '@switchboard/testing';

import {
  delay,
  Fleet,
  linkOf,
  type Machine,
  newMachine,
  refusedNotDeployed,
  registersWithin,
  withinMs,
} from '../support/fleet';
import {
  screenshotBothWidths,
  seriousAccessibilityViolations,
  type WatchedPage,
} from './support/console-browser';
import { useConsoleSuite } from './support/console-suite';

// The Devices pages in Chromium against the real api and signal. The devices are reference RustDesk
// peers that registered with signal (under the approval policy, so some wait for an admin) and reported
// their system info to the api as the client does; nothing is written to the database behind the
// api's back. A ban made in the console must reach the data plane (the peer's signal link closes) and
// every other open console (the live stream).

jest.setTimeout(240_000);

/** From the console's confirmation to the peer's link closing: the api, one Redis hop, one handler. */
const CUT_BOUND_MS = 5_000;
/** The live stream's frame and the refetch it triggers, on a busy 2-core box. */
const LIVE_BOUND_MS = 8_000;

interface DeviceView {
  id: string;
  revoked: boolean;
  admission: string;
  banned: boolean;
  banReason: string | null;
  note: string | null;
  tags: string[];
}

interface Sysinfo {
  hostname: string;
  os: string;
  username: string;
  cpu: string;
  memory: string;
  version: string;
}

describe('console devices pages (Chromium, real api and signal)', () => {
  const suite = useConsoleSuite({}, { registrationPolicy: 'approval' });
  let fleet: Fleet;
  const run = randomUUID().slice(0, 6);

  beforeAll(() => {
    fleet = new Fleet({
      host: suite.stack.signal.host,
      port: suite.stack.signal.port,
      key: suite.stack.signal.publicKeyFile,
    });
  });

  afterEach(async () => {
    await fleet.stopAll();
  });

  const device = (id: string) => suite.stack.call<DeviceView>('GET', `/api/v1/devices/${id}`);

  /** A client run that registers; under approval signal records it as pending. */
  async function registerPending(machine: Machine): Promise<void> {
    const peer = fleet.run(machine, { natType: NatType.ASYMMETRIC });
    await peer.register();
    await peer.stop();
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await device(machine.id);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await delay(200);
      }
    }
  }

  /** A device an admin approved (through the API), registered again and holding its signal link. */
  async function registerAdmitted(machine: Machine): Promise<RustDeskPeer> {
    await registerPending(machine);
    await suite.stack.call('POST', `/api/v1/devices/${machine.id}/approve`);
    return registersWithin(fleet, machine, 'tcp', 15_000);
  }

  /** What the client posts to /api/sysinfo (src/hbbs_http/sync.rs). */
  async function reportSysinfo(machine: Machine, info: Sysinfo): Promise<void> {
    const response = await fetch(`${suite.stack.api.baseUrl}/api/sysinfo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: machine.id, uuid: machine.uuid.toString('base64'), ...info }),
    });
    expect(await response.text()).toBe('SYSINFO_UPDATED');
  }

  function row(page: Page, id: string) {
    return page.getByRole('row').filter({ has: page.getByRole('link', { name: id, exact: true }) });
  }

  async function expectClean(watched: WatchedPage): Promise<void> {
    expect(await seriousAccessibilityViolations(watched.page)).toEqual([]);
    expect(watched.problems()).toEqual([]);
  }

  it('lists the registered devices; the search and filters narrow them on the server and survive a reload', async () => {
    const linux = newMachine();
    const windows = newMachine();
    const pending = newMachine();
    await registerAdmitted(linux);
    await registerAdmitted(windows);
    await registerPending(pending);
    await reportSysinfo(linux, {
      hostname: `lin-${run}`,
      os: 'Linux / Debian 12',
      username: 'ada',
      cpu: 'Intel(R) Xeon(R), 2 cores',
      memory: '3.84GB',
      version: '1.4.9',
    });
    await reportSysinfo(windows, {
      hostname: `win-${run}`,
      os: 'Windows 11 Pro',
      username: 'bob',
      cpu: 'AMD Ryzen 7',
      memory: '16GB',
      version: '1.4.9',
    });

    const watched = await suite.signedIn();
    const { page } = watched;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
    await page.getByRole('heading', { level: 1, name: 'Devices' }).waitFor();
    for (const machine of [linux, windows, pending]) await row(page, machine.id).waitFor();
    await row(page, pending.id).getByText('pending', { exact: true }).waitFor();
    await expectClean(watched);
    await screenshotBothWidths(page, 'devices-list');

    // The search goes to the api (once typing pauses) and into the address bar.
    await page.getByLabel('Search').fill(`win-${run}`);
    await page.waitForURL((url) => url.searchParams.get('q') === `win-${run}`);
    await row(page, linux.id).waitFor({ state: 'detached' });
    await row(page, windows.id).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);

    // A reload (or a shared link) shows the same list.
    await page.reload();
    await row(page, windows.id).waitFor();
    expect(await page.getByLabel('Search').inputValue()).toBe(`win-${run}`);
    expect(await page.locator('tbody tr').count()).toBe(1);

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await row(page, linux.id).waitFor();
    await page.getByRole('combobox', { name: /^OS\b/ }).selectOption('linux');
    await page.waitForURL((url) => url.searchParams.get('os') === 'linux');
    await row(page, windows.id).waitFor({ state: 'detached' });
    await row(page, linux.id).waitFor();

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('combobox', { name: /^Admission\b/ }).selectOption('pending');
    await row(page, linux.id).waitFor({ state: 'detached' });
    await row(page, pending.id).waitFor();
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('shows a device’s facts and connections, edits its note and tags, and approves a pending device', async () => {
    const machine = newMachine();
    await registerPending(machine);
    await reportSysinfo(machine, {
      hostname: `pend-${run}`,
      os: 'Linux / Ubuntu 24.04',
      username: 'carol',
      cpu: 'ARM Cortex-A72, 4 cores',
      memory: '7.6GB',
      version: '1.4.9',
    });
    // A connection the device's own client reported (src/server/connection.rs posts it).
    const connId = randomInt(1, 2 ** 31 - 1);
    const conn = await fetch(`${suite.stack.api.baseUrl}/api/audit/conn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"session_id":18446744073709551615,${JSON.stringify({
        id: machine.id,
        uuid: machine.uuid.toString('base64'),
        conn_id: connId,
        nonce: randomUUID(),
        action: 'new',
        ip: '127.0.0.2',
      }).slice(1)}`,
    });
    expect(conn.status).toBe(200);

    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto('/devices?view=pending');
    await row(page, machine.id).waitFor();
    await page.getByRole('link', { name: machine.id, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: `Device ${machine.id}` }).waitFor();
    const system = page.getByRole('region', { name: 'System' });
    for (const fact of [`pend-${run}`, 'Linux / Ubuntu 24.04', 'carol', 'ARM Cortex-A72, 4 cores', '7.6GB']) {
      await system.getByText(fact, { exact: true }).waitFor();
    }
    const presence = page.getByRole('region', { name: 'Presence' });
    await presence.getByText('pending', { exact: true }).waitFor();
    const connections = page.getByRole('region', { name: 'Connections' });
    await connections.getByText('127.0.0.2').waitFor();
    await connections.getByRole('button', { name: `End session ${connId}` }).waitFor();
    await expectClean(watched);
    await screenshotBothWidths(page, 'device-page');

    // Edit note and tags.
    await page.getByRole('button', { name: 'Edit note, tags and group' }).click();
    await page.getByLabel('Tags (separated by commas)').fill('lab, e2e');
    await page.getByLabel('Note').fill('on the test bench');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    expect(await device(machine.id)).toMatchObject({ note: 'on the test bench', tags: ['lab', 'e2e'] });

    // Approve: the confirmation says what it does, and afterwards the device may register.
    await page
      .getByRole('group', { name: 'Device actions' })
      .getByRole('button', { name: 'Approve', exact: true })
      .click();
    const dialog = page.getByRole('dialog', { name: `Approve device ${machine.id}` });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('will be admitted');
    await expectClean(watched);
    await screenshotBothWidths(page, 'device-approve');
    await dialog.getByRole('button', { name: 'Approve', exact: true }).click();
    await page.getByText(`Device ${machine.id} approved.`).waitFor();
    expect((await device(machine.id)).admission).toBe('admitted');
    await registersWithin(fleet, machine, 'tcp', 15_000);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('a ban made in the console closes the device’s signal link and shows in a second console without reload', async () => {
    const machine = newMachine();
    const peer = await registerAdmitted(machine);
    const signalLink = linkOf(peer);

    const observer = await suite.signedIn();
    await observer.page.goto(`/devices/${machine.id}`);
    await observer.page.getByRole('heading', { level: 1, name: `Device ${machine.id}` }).waitFor();
    await observer.page.getByText('Live', { exact: true }).waitFor();

    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto(`/devices/${machine.id}`);
    await page
      .getByRole('group', { name: 'Device actions' })
      .getByRole('button', { name: 'Ban', exact: true })
      .click();
    const dialog = page.getByRole('dialog', { name: `Ban device ${machine.id}` });
    await dialog.getByLabel(/^Reason/).fill('e2e: stolen laptop');
    await expectClean(watched);
    await screenshotBothWidths(page, 'device-ban');
    const bannedAt = performance.now();
    await dialog.getByRole('button', { name: 'Ban', exact: true }).click();
    // The observer's view, watched from the click on (its update may land before this test looks).
    const observed = observer.page
      .locator('.device-state')
      .getByText('banned', { exact: true })
      .waitFor({ timeout: LIVE_BOUND_MS })
      .then(() => performance.now() - bannedAt);
    await withinMs(signalLink.closed, CUT_BOUND_MS);
    await page.getByText(`Device ${machine.id} banned.`).waitFor();
    expect(await device(machine.id)).toMatchObject({ banned: true, banReason: 'e2e: stolen laptop' });

    // The reconnecting client is refused as docs/protocol.md §7 says.
    const again = fleet.run(machine, { natType: NatType.ASYMMETRIC });
    expect(await again.register()).toEqual(refusedNotDeployed());

    // The other console shows it from the live stream, without a reload. (The issue asks for a second;
    // the bound allows for a busy 2-core box, and the figure is printed for the record.)
    console.log(`ban shown in the second console ${(await observed).toFixed(0)} ms after the click`);
    expect(observer.problems()).toEqual([]);
    await observer.close();

    // Unban, with the ban's reason shown in the confirmation.
    await page
      .getByRole('group', { name: 'Device actions' })
      .getByRole('button', { name: 'Unban', exact: true })
      .click();
    const unban = page.getByRole('dialog', { name: `Unban device ${machine.id}` });
    expect(await unban.textContent()).toContain('e2e: stolen laptop');
    await unban.getByRole('button', { name: 'Unban', exact: true }).click();
    await page.getByText(`Device ${machine.id} unbanned.`).waitFor();
    expect((await device(machine.id)).banned).toBe(false);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('bulk-bans the selected devices after a confirmation naming how many and which', async () => {
    const machines = [newMachine(), newMachine()];
    const bystander = newMachine();
    for (const machine of [...machines, bystander]) await registerAdmitted(machine);

    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto('/devices');
    for (const machine of machines) {
      await row(page, machine.id).waitFor();
      await page.getByLabel(`Select device ${machine.id}`).check();
    }
    await page.getByRole('region', { name: 'Selected devices' }).getByText('2 devices selected').waitFor();
    await page
      .getByRole('region', { name: 'Selected devices' })
      .getByRole('button', { name: 'Ban', exact: true })
      .click();
    const dialog = page.getByRole('dialog', { name: 'Ban 2 devices' });
    await dialog.waitFor();
    const text = (await dialog.textContent()) ?? '';
    expect(text).toContain('This will ban 2 devices.');
    expect(text).toContain('Their live connections are cut now');
    for (const machine of machines) {
      await dialog.getByRole('list', { name: 'Devices' }).getByText(machine.id, { exact: true }).waitFor();
    }
    expect(text).not.toContain(bystander.id);
    await dialog.getByLabel(/^Reason/).fill('e2e: bulk');
    await expectClean(watched);
    await screenshotBothWidths(page, 'devices-bulk-ban');
    await dialog.getByRole('button', { name: 'Ban 2 devices' }).click();
    await page.getByText('2 devices banned.').waitFor();
    for (const machine of machines) {
      expect(await device(machine.id)).toMatchObject({ banned: true, banReason: 'e2e: bulk' });
    }
    expect((await device(bystander.id)).banned).toBe(false);
    // The list shows it.
    await row(page, machines[0]?.id ?? '')
      .getByText('banned')
      .waitFor();
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('revoke previews the linked devices a cascade takes down, then revokes them all', async () => {
    const [root, child, grandchild] = [newMachine(), newMachine(), newMachine()];
    for (const machine of [root, child, grandchild]) await registerPending(machine);
    await suite.stack.call('POST', `/api/v1/devices/${root.id}/links/${child.id}`);
    await suite.stack.call('POST', `/api/v1/devices/${child.id}/links/${grandchild.id}`);

    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto(`/devices/${root.id}`);
    await page
      .getByRole('region', { name: 'Linked devices' })
      .getByRole('link', { name: child.id })
      .waitFor();
    await page.getByRole('group', { name: 'Device actions' }).getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: `Revoke device ${root.id}` });
    // Transitively: the grandchild is linked only through the child.
    const linked = dialog.getByRole('list', { name: 'Linked devices' });
    for (const machine of [child, grandchild]) await linked.getByText(machine.id, { exact: true }).waitFor();
    await dialog.getByLabel('Also revoke its 2 linked devices').check();
    expect(await dialog.textContent()).toContain('These will be revoked too:');
    await expectClean(watched);
    await screenshotBothWidths(page, 'device-revoke');
    await dialog.getByRole('button', { name: 'Revoke 3 devices' }).click();
    await page.getByText(`Device ${root.id} and 2 linked devices revoked.`).waitFor();
    for (const machine of [root, child, grandchild]) {
      expect(await device(machine.id)).toMatchObject({ revoked: true });
    }
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('a bulk action’s confirmation says which selected devices it would leave as they are', async () => {
    const [banned, fresh] = [newMachine(), newMachine()];
    for (const machine of [banned, fresh]) await registerPending(machine);
    await suite.stack.call('POST', `/api/v1/devices/${banned.id}/ban`, { reason: 'e2e: earlier' });

    const watched = await suite.signedIn();
    const { page } = watched;
    await page.goto(`/devices?q=${banned.id}`);
    await page.getByLabel(`Select device ${banned.id}`).check();
    await page.getByLabel('Search').fill(fresh.id);
    await row(page, fresh.id).waitFor();
    // A new search starts a new selection: what is selected is what the list shows.
    await page.getByRole('region', { name: 'Selected devices' }).waitFor({ state: 'detached' });
    await page.goto('/devices?view=pending');
    for (const machine of [banned, fresh]) await page.getByLabel(`Select device ${machine.id}`).check();
    const bar = page.getByRole('region', { name: 'Selected devices' });
    await bar.getByRole('button', { name: 'Ban', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Ban 2 devices' });
    await dialog
      .getByText(`1 device is already banned and will be left as it is (${banned.id}); 1 will be banned.`)
      .waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect((await device(fresh.id)).banned).toBe(false);
    expect(watched.problems()).toEqual([]);
    await watched.close();
  });

  it('a viewer sees the devices but no action; an operator may ban but not approve or delete', async () => {
    const machine = newMachine();
    await registerPending(machine);

    const viewer = await suite.signedIn(await suite.stack.createAccount('viewer'));
    await viewer.page.goto('/devices');
    await row(viewer.page, machine.id).getByLabel(`Select device ${machine.id}`).check();
    const viewerBar = viewer.page.getByRole('region', { name: 'Selected devices' });
    await viewerBar.waitFor();
    expect(await viewerBar.getByRole('button', { name: /Approve|Ban|Delete/ }).count()).toBe(0);
    await viewer.page.goto(`/devices/${machine.id}`);
    await viewer.page.getByRole('region', { name: 'System' }).waitFor();
    expect(await viewer.page.getByRole('group', { name: 'Device actions' }).count()).toBe(0);
    await expectClean(viewer);
    await viewer.close();

    const operator = await suite.signedIn(await suite.stack.createAccount('operator'));
    await operator.page.goto(`/devices/${machine.id}`);
    const actions = operator.page.getByRole('group', { name: 'Device actions' });
    await actions.getByRole('button', { name: 'Ban', exact: true }).waitFor();
    expect(await actions.getByRole('button', { name: /Approve|Delete|Revoke|Change ID/ }).count()).toBe(0);
    await expectClean(operator);
    await screenshotBothWidths(operator.page, 'device-page-operator');
    await operator.close();
  });
});
