import { randomBytes } from 'node:crypto';

import { readRefusalCounts, RefusalTally } from '@switchboard/events';
import { createLogger } from '@switchboard/observability';
import { encodeRendezvous, type RegisterPk } from '@switchboard/protocol';
import { Redis } from 'ioredis';

import { CoreHarness, peerIdentity } from '../test/core-harness';

// Refused registrations through the real core, counted by the tally signal's main.ts wires in and
// flushed to a real Redis, as the api's dashboard reads them.

const REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';

const registerPk = (id: string, seed: number): RegisterPk => ({
  id,
  ...peerIdentity(seed),
  oldId: '',
  noRegisterDevice: false,
});

describe('refused registrations counted for the dashboard (real Redis)', () => {
  const prefix = `sb-test-refusals-${randomBytes(4).toString('hex')}`;
  const redis = new Redis(REDIS_URL);
  let harness: CoreHarness | undefined;

  afterAll(async () => {
    harness?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('counts each refusal by reason in memory and writes them in one flush; admitted ones not at all', async () => {
    const tally = new RefusalTally({
      redis,
      redisKeyPrefix: prefix,
      logger: createLogger({ name: 'refusals-test', level: 'silent' }),
    });
    harness = new CoreHarness({ registrationRefusals: tally });
    harness.access.registration.set('123456789', 'banned');
    harness.access.registration.set('987654321', 'pending');
    const heartbeat = (id: string) =>
      harness?.udp(encodeRendezvous({ $case: 'registerPeer', value: { id, serial: 0 } }), '198.51.100.7', 1);
    for (let i = 0; i < 3; i++) heartbeat('123456789');
    harness.udp({ $case: 'registerPk', value: registerPk('987654321', 2) }, '203.0.113.5', 2);
    harness.udp({ $case: 'registerPk', value: registerPk('555555555', 5) }, '203.0.113.6', 3);
    heartbeat('555555555');

    // Nothing reaches Redis before the flush.
    expect((await readRefusalCounts(redis, prefix, Date.now())).byReason).toEqual({});
    await tally.flush();
    expect((await readRefusalCounts(redis, prefix, Date.now())).byReason).toEqual({ banned: 3, pending: 1 });
  });
});
