import { isDeviceId as isPeerId, isRelayUuid } from '@switchboard/domain';

import { isRelayAddress, registryKeys, relayNodeRecordSchema } from './registry-layout';

describe('registry layout', () => {
  it('accepts the uuids RustDesk clients send and nothing that could escape the key', () => {
    // Uuid::new_v4().to_string() in rustdesk/rustdesk src/client.rs and src/rendezvous_mediator.rs
    expect(isRelayUuid('67e55044-10b1-426f-9247-bb680e5fe0c8')).toBe(true);
    expect(isRelayUuid('A'.repeat(64))).toBe(true);
    for (const bad of ['', 'A'.repeat(65), 'a b', 'a:b', 'a*', '../x', 'é', 'a\nb']) {
      expect(isRelayUuid(bad)).toBe(false);
    }
  });

  it('accepts peer ids of the RustDesk id charset only', () => {
    expect(isPeerId('123456789')).toBe(true);
    expect(isPeerId('my-host_1')).toBe(true);
    expect(isPeerId('x'.repeat(33))).toBe(false);
    expect(isPeerId('a b')).toBe(false);
    expect(isPeerId('')).toBe(false);
  });

  it('accepts relay addresses as clients dial them', () => {
    for (const good of [
      'relay.example.com',
      'relay.example.com:21117',
      '10.0.0.1:21117',
      '[2001:db8::1]:21117',
    ]) {
      expect(isRelayAddress(good)).toBe(true);
    }
    for (const bad of ['', 'relay:0', 'relay:65536', 'ws://relay', 'a b:1', '-relay', `${'a'.repeat(256)}`]) {
      expect(isRelayAddress(bad)).toBe(false);
    }
  });

  it('keeps every key of one deployment under its prefix', () => {
    const keys = registryKeys('p');
    expect([keys.nodeIndex, keys.node('n1'), keys.ticket('u1')]).toEqual([
      'p:nodes',
      'p:node:n1',
      'p:ticket:u1',
    ]);
    expect(registryKeys().nodeIndex).toBe('switchboard:relay:nodes');
  });

  it('rejects node records a picker could not use', () => {
    const record = {
      nodeId: 'relay-1',
      address: 'relay1.test:21117',
      sessions: 3,
      bytesPerSecond: 10.5,
      capacity: 100,
      draining: false,
      updatedAt: 1_700_000_000_000,
    };
    expect(relayNodeRecordSchema.safeParse(record).success).toBe(true);
    for (const bad of [
      { capacity: 0 },
      { sessions: -1 },
      { sessions: 1.5 },
      { bytesPerSecond: Number.POSITIVE_INFINITY },
      { address: 'no spaces allowed' },
      { draining: 'no' },
    ]) {
      expect(relayNodeRecordSchema.safeParse({ ...record, ...bad }).success).toBe(false);
    }
  });
});
