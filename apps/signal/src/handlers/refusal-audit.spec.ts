import { encodeRendezvous, type RegisterPk, RegisterPkResponse_Result } from '@switchboard/protocol';

import { CoreHarness, peerIdentity } from '../test/core-harness';

// What the core hands its AuditSink: every access refusal of a registration and every live link a
// ban event closes (the sink, libs/audit-queue, coalesces and queues them).

const registerPk = (id: string, seed: number): RegisterPk => ({
  id,
  ...peerIdentity(seed),
  oldId: '',
  noRegisterDevice: false,
});

describe('audit facts from the signal core', () => {
  let harness: CoreHarness;
  afterEach(() => harness.close());

  it('reports refused UDP RegisterPeer and RegisterPk with the id, the refusal and the IP', () => {
    harness = new CoreHarness();
    harness.access.registration.set('123456789', 'banned');
    harness.access.registration.set('987654321', 'pending');
    harness.udp(
      encodeRendezvous({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } }),
      '198.51.100.7',
      1,
    );
    const replies = harness.udp({ $case: 'registerPk', value: registerPk('987654321', 2) }, '203.0.113.5', 2);
    expect(replies[0]?.message).toMatchObject({ value: { result: RegisterPkResponse_Result.NOT_DEPLOYED } });
    expect(harness.audit.facts).toEqual([
      { action: 'device.registration_refused', deviceId: '123456789', reason: 'banned', ip: '198.51.100.7' },
      { action: 'device.registration_refused', deviceId: '987654321', reason: 'pending', ip: '203.0.113.5' },
    ]);
  });

  it('reports nothing for an admitted registration', () => {
    harness = new CoreHarness();
    harness.udp({ $case: 'registerPk', value: registerPk('123456789', 1) }, '198.51.100.7', 1);
    harness.udp(
      encodeRendezvous({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } }),
      '198.51.100.7',
      1,
    );
    expect(harness.audit.facts).toEqual([]);
  });

  it('reports a live link a ban closed, and not a denied device that had none', async () => {
    harness = new CoreHarness({ key: 'none' });
    const link = harness.connect('ws', { address: '198.51.100.34', port: 0 });
    link.send({ $case: 'registerPk', value: registerPk('123456789', 1) });
    await link.expect('registerPkResponse');
    harness.udp({ $case: 'registerPk', value: registerPk('555555555', 5) }, '198.51.100.9', 9);
    harness.access.deny(['123456789', '555555555'], 'revoked');
    await link.closed;
    expect(harness.audit.facts).toEqual([
      { action: 'device.link_closed', deviceId: '123456789', reason: 'revoked', ip: '198.51.100.34' },
    ]);
  });
});
