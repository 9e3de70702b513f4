import { RegisterPkResponse_Result } from '@switchboard/protocol';

import { CoreHarness, ManualClock, peerIdentity } from '../test/core-harness';

const { OK, ID_EXISTS, INVALID_ID_FORMAT, TOO_FREQUENT, UUID_MISMATCH, NOT_DEPLOYED } =
  RegisterPkResponse_Result;

describe('TCP RegisterPk id change (docs/protocol.md §5.9)', () => {
  let clock: ManualClock;
  let harness: CoreHarness;
  const ip = '198.51.100.90';
  beforeEach(() => {
    clock = new ManualClock();
    harness = new CoreHarness({ clock });
    for (const [id, seed] of [
      ['123456789', 1],
      ['987654321', 2],
    ] as const) {
      const { uuid, pk } = peerIdentity(seed);
      harness.udp(
        { $case: 'registerPk', value: { id, uuid, pk, oldId: '', noRegisterDevice: false } },
        ip,
        1000 + seed,
      );
    }
  });
  afterEach(() => harness.close());

  async function change(oldId: string, id: string, seed = 1, from = ip): Promise<RegisterPkResponse_Result> {
    const client = harness.connect('tcp', { address: from, port: 5000 });
    // The client's check_id: no secure_tcp, the leading KeyExchange is skipped.
    client.send({
      $case: 'registerPk',
      value: { id, oldId, uuid: peerIdentity(seed).uuid, pk: Buffer.alloc(0), noRegisterDevice: false },
    });
    const response = await client.expect('registerPkResponse');
    await client.closed;
    return response.result;
  }

  it('renames the record, writes the change and audits it', async () => {
    expect(await change('123456789', 'office-pc')).toBe(OK);
    expect(harness.core.peers.has('123456789')).toBe(false);
    expect(harness.core.peers.get('office-pc')?.pkBytes).toEqual(Buffer.alloc(32, 1));
    expect(harness.writer.idChanges).toEqual([{ oldId: '123456789', newId: 'office-pc' }]);
    expect(harness.audit.facts).toEqual([
      { action: 'device.id_changed', deviceId: '123456789', newId: 'office-pc', ip },
    ]);
  });

  it('refuses the right uuid from another address: the uuid travels in clear', async () => {
    expect(await change('123456789', 'stolen-pc', 1, '203.0.113.66')).toBe(UUID_MISMATCH);
    expect(harness.core.peers.has('123456789')).toBe(true);
    expect(harness.writer.idChanges).toEqual([]);
    expect(harness.audit.facts).toEqual([]);
  });

  it('refuses a device that is no longer registered, even from its last address', async () => {
    clock.advance(31_000);
    expect(await change('123456789', 'office-pc')).toBe(UUID_MISMATCH);
    harness.udp({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } }, ip, 1001);
    expect(await change('123456789', 'office-pc')).toBe(OK);
  });

  it("accepts the change on the device's own registration link, wherever that comes from", async () => {
    const { uuid, pk } = peerIdentity(3);
    const link = harness.connect('tcp', { address: '192.0.2.33', port: 6000 });
    link.send({
      $case: 'registerPk',
      value: { id: '333333333', uuid, pk, oldId: '', noRegisterDevice: false },
    });
    expect((await link.expect('registerPkResponse')).result).toBe(OK);
    link.send({
      $case: 'registerPk',
      value: { id: 'linked-pc', oldId: '333333333', uuid, pk: Buffer.alloc(0), noRegisterDevice: false },
    });
    expect((await link.expect('registerPkResponse')).result).toBe(OK);
    expect(harness.core.peers.get('linked-pc')?.link).toBeDefined();
    // The same uuid on a fresh connection from elsewhere is still refused.
    expect(await change('linked-pc', 'other-pc', 3)).toBe(UUID_MISMATCH);
    link.destroy();
  });

  it('refuses ids that are not valid custom ids', async () => {
    for (const bad of ['1abcdef', 'abc', 'a'.repeat(17), 'bad id!', '']) {
      expect(await change('123456789', bad)).toBe(INVALID_ID_FORMAT);
    }
    expect(harness.writer.idChanges).toEqual([]);
  });

  it('answers ID_EXISTS for an id that is live here or known to Postgres', async () => {
    harness.core.renamePeer('987654321', 'taken-id');
    expect(await change('123456789', 'taken-id')).toBe(ID_EXISTS);
    // An offline device's id, or a banned one's, is still taken.
    harness.access.known.add('offline-id');
    expect(await change('123456789', 'offline-id')).toBe(ID_EXISTS);
    expect(await change('123456789', 'fresh-id')).toBe(OK);
  });

  it('lets only the registered machine rename its id, and not a denied one', async () => {
    expect(await change('123456789', 'stolen-id', 2)).toBe(UUID_MISMATCH);
    expect(await change('555555555', 'ghost-id', 1)).toBe(UUID_MISMATCH);
    harness.access.registration.set('123456789', 'banned');
    expect(await change('123456789', 'escape-id')).toBe(NOT_DEPLOYED);
    harness.access.registration.set('123456789', 'revoked');
    expect(await change('123456789', 'escape-id')).toBe(NOT_DEPLOYED);
    expect(harness.core.peers.has('123456789')).toBe(true);
    expect(harness.audit.facts.filter((fact) => fact.action === 'device.id_changed')).toEqual([]);
  });

  it('answers TOO_FREQUENT past the per-IP budget', async () => {
    const results: RegisterPkResponse_Result[] = [];
    for (let i = 0; i < 6; i++) results.push(await change('123456789', 'bad id'));
    expect(results.slice(0, 5)).toEqual(Array(5).fill(INVALID_ID_FORMAT));
    // Invalid requests are refused before they count; valid ones do.
    for (let i = 0; i < 5; i++) await change('555555555', `ghost-${i}x`);
    expect(await change('123456789', 'office-pc')).toBe(TOO_FREQUENT);
    clock.advance(60_000);
    // Meanwhile the device has kept registering, as every client does every 15 s.
    harness.udp({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } }, ip, 1001);
    expect(await change('123456789', 'office-pc')).toBe(OK);
  });
});
