import { randomUUID } from 'node:crypto';

import { Registry } from 'prom-client';

import { MAX_TICKET_PEERS, RelayTicketStore, type RelayTicketStoreOptions } from './relay-ticket-store';
import { RecordingLogger } from './test-support/recording-logger';
import { RedisFixture, sleep, waitFor } from './test-support/redis-fixture';
import { TcpProxy } from '@switchboard/test-net';

describe('RelayTicketStore (real Redis)', () => {
  let redis: RedisFixture;
  let proxies: TcpProxy[];

  beforeEach(() => {
    redis = new RedisFixture();
    proxies = [];
  });

  afterEach(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await redis.close();
  });

  function store(options: Partial<RelayTicketStoreOptions> = {}) {
    const logger = new RecordingLogger();
    const registry = new Registry();
    const tickets = new RelayTicketStore({
      redis: options.redis ?? redis.serviceClient(),
      prefix: redis.prefix,
      logger,
      registry,
      ...options,
    });
    const issued = async (outcome: string) => {
      const { values } = await registry.getSingleMetric('relay_tickets_issued_total')!.get();
      return values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
    };
    return { tickets, logger, issued };
  }

  async function unreachableRedis() {
    const proxy = await TcpProxy.start('127.0.0.1', 6379);
    proxies.push(proxy);
    await proxy.cut();
    return { proxy, client: redis.serviceClient(proxy.url) };
  }

  it('stores a ticket the relay can read back with its peers, relay and expiry', async () => {
    const { tickets, issued } = store({ ttlMs: 60_000 });
    const uuid = randomUUID();

    const before = Date.now();
    tickets.issue({ uuid, peers: ['123456789', 'host_2'], relay: 'relay1.test:21117' });
    await tickets.flush();

    const ticket = await tickets.get(uuid);
    expect(ticket).toMatchObject({ uuid, relay: 'relay1.test:21117' });
    expect([...ticket!.peers].sort()).toEqual(['123456789', 'host_2']);
    expect(ticket!.expiresAt.getTime()).toBeGreaterThan(before + 59_000);
    expect(ticket!.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(await redis.admin.pttl(redis.key(`ticket:${uuid}`))).toBeGreaterThan(59_000);
    expect(await tickets.peersOf(uuid)).toHaveLength(2);
    expect(await issued('stored')).toBe(1);
  });

  it('hands a ticket out once with take()', async () => {
    const { tickets } = store();
    const uuid = randomUUID();
    tickets.issue({ uuid, peers: ['111111111'], relay: 'relay1.test:21117' });
    await tickets.flush();

    expect(await tickets.take(uuid)).toMatchObject({ uuid, peers: ['111111111'] });
    expect(await tickets.take(uuid)).toBeUndefined();
    expect(await tickets.get(uuid)).toBeUndefined();
    expect(await tickets.peersOf(uuid)).toEqual([]);
  });

  it('lets a ticket lapse after its TTL', async () => {
    const { tickets } = store({ ttlMs: 150 });
    const uuid = randomUUID();
    tickets.issue({ uuid, peers: ['111111111'], relay: '' });
    await tickets.flush();
    expect(await tickets.get(uuid)).toBeDefined();

    await waitFor(async () => (await tickets.get(uuid)) === undefined, 'the ticket to lapse', 1_000);
    expect(await redis.admin.exists(redis.key(`ticket:${uuid}`))).toBe(0);
  });

  it('merges a second issue of the same uuid: peers added, first relay kept, TTL restarted', async () => {
    const { tickets } = store({ ttlMs: 400 });
    const uuid = randomUUID();
    // A's RequestRelay names B; B's RelayResponse then names B (and its relay) again, and maybe A.
    tickets.issue({ uuid, peers: ['222222222'], relay: '' });
    await tickets.flush();
    await sleep(250);
    tickets.issue({ uuid, peers: ['222222222', '111111111'], relay: 'relay1.test:21117' });
    tickets.issue({ uuid, peers: [], relay: 'relay2.test:21117' });
    await tickets.flush();
    await sleep(250); // 500 ms after the first issue: alive only because the merge restarted the TTL

    const ticket = await tickets.get(uuid);
    expect(ticket?.relay).toBe('relay1.test:21117');
    expect([...ticket!.peers].sort()).toEqual(['111111111', '222222222']);
  });

  it('caps the peers of one uuid and drops ids that are not peer ids', async () => {
    const { tickets } = store();
    const uuid = randomUUID();
    const many = Array.from({ length: 20 }, (_, index) => `peer${index}`);
    tickets.issue({ uuid, peers: ['bad id', 'x'.repeat(33), ...many.slice(0, 10)], relay: 'relay1.test' });
    tickets.issue({ uuid, peers: many.slice(10), relay: '' });
    await tickets.flush();

    const peers = (await tickets.get(uuid))!.peers;
    expect(peers).toHaveLength(MAX_TICKET_PEERS);
    expect(peers.every((peer) => many.includes(peer))).toBe(true);
  });

  it('keeps a relay address only if it is one', async () => {
    const { tickets } = store();
    const uuid = randomUUID();
    tickets.issue({ uuid, peers: ['111111111'], relay: 'evil\r\nhost:99999' });
    await tickets.flush();

    expect((await tickets.get(uuid))?.relay).toBe('');
  });

  it('checks the uuid before any Redis call', async () => {
    const { client } = await unreachableRedis();
    const { tickets, logger, issued } = store({ redis: client });
    const invalid = ['', 'has space', 'a'.repeat(65), '../../etc', 'x:y', 'ünï'];

    for (const uuid of invalid) {
      // Would reject if it reached the unreachable Redis, as a valid uuid does below.
      await expect(tickets.get(uuid)).resolves.toBeUndefined();
      await expect(tickets.take(uuid)).resolves.toBeUndefined();
      tickets.issue({ uuid, peers: ['111111111'], relay: '' });
    }
    await tickets.flush();

    await expect(tickets.get(randomUUID())).rejects.toThrow();
    expect(await issued('invalid')).toBe(invalid.length);
    expect(await issued('failed')).toBe(0);
    // Throttled: one line for a burst, not one per ticket.
    expect(logger.withMessage('relay ticket refused: invalid uuid')).toHaveLength(1);
  });

  it('logs and counts a write that fails while Redis is down, without throwing, then recovers', async () => {
    const { proxy, client } = await unreachableRedis();
    const { tickets, logger, issued } = store({ redis: client });
    const lost = randomUUID();

    expect(() => tickets.issue({ uuid: lost, peers: ['111111111'], relay: '' })).not.toThrow();
    await tickets.flush();
    expect(await issued('failed')).toBe(1);
    expect(logger.withMessage('relay ticket not stored')).toHaveLength(1);

    await proxy.restore();
    const kept = randomUUID();
    await waitFor(
      async () => {
        tickets.issue({ uuid: kept, peers: ['111111111'], relay: '' });
        await tickets.flush();
        return (await issued('stored')) > 0;
      },
      'a stored ticket after Redis came back',
      8_000,
    );
    expect(await redis.admin.exists(redis.key(`ticket:${kept}`))).toBe(1);
  }, 15_000);

  it('drops writes beyond the pending cap instead of queueing them without bound', async () => {
    const proxy = await TcpProxy.start('127.0.0.1', 6379);
    proxies.push(proxy);
    const { tickets, issued } = store({ redis: redis.serviceClient(proxy.url), maxPendingWrites: 2 });
    tickets.issue({ uuid: randomUUID(), peers: [], relay: '' });
    await tickets.flush(); // connected
    proxy.stall();

    for (let index = 0; index < 5; index += 1) tickets.issue({ uuid: randomUUID(), peers: [], relay: '' });
    expect(await issued('dropped')).toBe(3);

    proxy.resume();
    await tickets.flush();
    expect(await issued('stored')).toBe(3);
  });

  it('treats a key of the wrong shape as no ticket, logs it, and lets a new issue replace it', async () => {
    const { tickets, logger } = store();
    const uuid = randomUUID();
    await redis.admin.set(redis.key(`ticket:${uuid}`), 'garbage', 'PX', 60_000);

    await expect(tickets.get(uuid)).resolves.toBeUndefined();
    expect(logger.withMessage('malformed relay ticket ignored')).toHaveLength(1);

    tickets.issue({ uuid, peers: ['111111111'], relay: 'relay1.test:21117' });
    await tickets.flush();
    expect(await tickets.get(uuid)).toMatchObject({ peers: ['111111111'], relay: 'relay1.test:21117' });
  });
});
