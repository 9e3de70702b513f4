import { randomUUID } from 'node:crypto';

import { Registry } from 'prom-client';

import { generateIdentityKeyPair } from '@switchboard/crypto';

import { encodeRelayTicket, relayAddressKey } from './relay-ticket';
import {
  MAX_TICKET_PEERS,
  type RelayTicketInput,
  RelayTicketStore,
  type RelayTicketStoreOptions,
} from './relay-ticket-store';
import { RecordingLogger } from './test-support/recording-logger';
import { RedisFixture } from './test-support/redis-fixture';
import { TcpProxy, waitFor } from '@switchboard/test-net';

const SIGNAL_KEY = generateIdentityKeyPair();
const REFUSED_READ = 'relay ticket in Redis refused: not signed by signal for this uuid, or expired';

function ticketFor(uuid: string, overrides: Partial<RelayTicketInput> = {}): RelayTicketInput {
  return {
    uuid,
    peers: ['111111111'],
    relay: 'relay1.test:21117',
    requesterIp: '203.0.113.80',
    answererIp: '198.51.100.70',
    ...overrides,
  };
}

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
      signingKey: SIGNAL_KEY.secretKey,
      verifyKey: SIGNAL_KEY.publicKey,
      ...options,
    });
    const counted = async (metric: string, label: string, value: string) => {
      const { values } = await registry.getSingleMetric(metric)!.get();
      return values.find((entry) => entry.labels[label] === value)?.value ?? 0;
    };
    const issued = (outcome: string) => counted('switchboard_tickets_issued_total', 'outcome', outcome);
    const refused = (reason: string) => counted('switchboard_tickets_refused_total', 'reason', reason);
    return { tickets, logger, issued, refused };
  }

  async function unreachableRedis() {
    const proxy = await TcpProxy.start('127.0.0.1', 6379);
    proxies.push(proxy);
    await proxy.cut();
    return { proxy, client: redis.serviceClient(proxy.url) };
  }

  it('stores a signed ticket the relay reads back with its peers, relay, both source addresses and expiry', async () => {
    const { tickets, issued } = store({ ttlMs: 60_000 });
    const uuid = randomUUID();

    const before = Date.now();
    tickets.issue(ticketFor(uuid, { peers: ['123456789', 'host_2'] }));
    await tickets.flush();

    const ticket = await tickets.get(uuid);
    expect(ticket).toMatchObject({
      uuid,
      relay: 'relay1.test:21117',
      requesterIp: '203.0.113.80',
      answererIp: '198.51.100.70',
    });
    expect([...ticket!.peers].sort()).toEqual(['123456789', 'host_2']);
    expect(ticket!.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 60_000);
    expect(ticket!.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(await redis.admin.pttl(redis.key(`ticket:${uuid}`))).toBeGreaterThan(59_000);
    expect(await issued('stored')).toBe(1);
  });

  it('hands a ticket out once with take(), and spend() deletes one without reading it', async () => {
    const { tickets } = store();
    const uuid = randomUUID();
    tickets.issue(ticketFor(uuid));
    await tickets.flush();

    expect(await tickets.take(uuid)).toMatchObject({ uuid, peers: ['111111111'] });
    expect(await tickets.take(uuid)).toBeUndefined();
    expect(await tickets.get(uuid)).toBeUndefined();

    const spent = randomUUID();
    tickets.issue(ticketFor(spent));
    await tickets.flush();
    await tickets.spend(spent);
    expect(await tickets.get(spent)).toBeUndefined();
  });

  it('lets a ticket lapse after its TTL', async () => {
    const { tickets } = store({ ttlMs: 150 });
    const uuid = randomUUID();
    tickets.issue(ticketFor(uuid));
    await tickets.flush();
    expect(await tickets.get(uuid)).toBeDefined();

    await waitFor(async () => (await tickets.get(uuid)) === undefined, 'the ticket to lapse', 1_000);
    expect(await redis.admin.exists(redis.key(`ticket:${uuid}`))).toBe(0);
  });

  it('refuses tickets written straight to Redis: unsigned, signed by another key, moved to another uuid, expired', async () => {
    const { tickets, logger, refused } = store();
    const claims = (uuid: string) => ({ ...ticketFor(uuid), expiresAt: Date.now() + 60_000 });
    const forger = generateIdentityKeyPair();
    const [plain, otherKey, moved, expired, original] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    await redis.admin.set(redis.key(`ticket:${plain}`), `AAAA.${JSON.stringify(claims(plain))}`);
    await redis.admin.set(
      redis.key(`ticket:${otherKey}`),
      encodeRelayTicket(claims(otherKey), forger.secretKey),
    );
    // A genuine ticket copied under a uuid the attacker chose.
    await redis.admin.set(
      redis.key(`ticket:${moved}`),
      encodeRelayTicket(claims(original), SIGNAL_KEY.secretKey),
    );
    // A genuine ticket put back (without a TTL) long after signal issued it.
    const stale = { ...claims(expired), expiresAt: Date.now() - 10 * 60_000 };
    await redis.admin.set(redis.key(`ticket:${expired}`), encodeRelayTicket(stale, SIGNAL_KEY.secretKey));

    for (const uuid of [plain, otherKey, moved, expired]) {
      await expect(tickets.get(uuid)).resolves.toBeUndefined();
    }
    expect(await refused('forged')).toBe(3);
    expect(await refused('expired')).toBe(1);
    expect(logger.withMessage(REFUSED_READ).length).toBeGreaterThanOrEqual(1);
  });

  it('issues nothing without a signing key, and cannot read without signal’s public key', async () => {
    const { tickets, issued } = store({ signingKey: undefined, verifyKey: undefined });
    const uuid = randomUUID();
    tickets.issue(ticketFor(uuid));
    await tickets.flush();

    expect(await issued('unsigned')).toBe(1);
    expect(await redis.admin.exists(redis.key(`ticket:${uuid}`))).toBe(0);
    await expect(tickets.get(uuid)).rejects.toThrow(/public key/);
  });

  it('caps the peers of a ticket and drops ids that are not peer ids', async () => {
    const { tickets } = store();
    const uuid = randomUUID();
    const many = Array.from({ length: 20 }, (_, index) => `peer${index}`);
    tickets.issue(ticketFor(uuid, { peers: ['bad id', 'x'.repeat(33), ...many] }));
    await tickets.flush();

    const peers = (await tickets.get(uuid))!.peers;
    expect(peers).toHaveLength(MAX_TICKET_PEERS);
    expect(peers.every((peer) => many.includes(peer))).toBe(true);
  });

  it('keeps a relay address only if it is one', async () => {
    const { tickets } = store();
    const uuid = randomUUID();
    tickets.issue(ticketFor(uuid, { relay: 'evil\r\nhost:99999' }));
    await tickets.flush();

    expect((await tickets.get(uuid))?.relay).toBe('');
  });

  it('spells relay addresses one way: default port, host case, IPv6 brackets', () => {
    expect(relayAddressKey('Relay1.Example.com')).toBe('relay1.example.com:21117');
    expect(relayAddressKey('relay1.example.com:21117')).toBe('relay1.example.com:21117');
    expect(relayAddressKey('203.0.113.5:4000')).toBe('203.0.113.5:4000');
    expect(relayAddressKey('[2001:DB8::1]')).toBe('[2001:db8::1]:21117');
    expect(relayAddressKey('[2001:db8::1]:21117')).toBe('[2001:db8::1]:21117');
    expect(relayAddressKey('')).toBe('');
    expect(relayAddressKey('no spaces allowed')).toBe('');
  });

  it('checks the uuid before any Redis call', async () => {
    const { client } = await unreachableRedis();
    const { tickets, logger, issued } = store({ redis: client });
    const invalid = ['', 'has space', 'a'.repeat(65), '../../etc', 'x:y', 'ünï'];

    for (const uuid of invalid) {
      // Would reject if it reached the unreachable Redis, as a valid uuid does below.
      await expect(tickets.get(uuid)).resolves.toBeUndefined();
      await expect(tickets.take(uuid)).resolves.toBeUndefined();
      tickets.issue(ticketFor(uuid));
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

    expect(() => tickets.issue(ticketFor(lost))).not.toThrow();
    await tickets.flush();
    expect(await issued('failed')).toBe(1);
    expect(logger.withMessage('relay ticket not stored')).toHaveLength(1);

    await proxy.restore();
    const kept = randomUUID();
    await waitFor(
      async () => {
        tickets.issue(ticketFor(kept));
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
    tickets.issue(ticketFor(randomUUID()));
    await tickets.flush(); // connected
    proxy.stall();

    for (let index = 0; index < 5; index += 1) tickets.issue(ticketFor(randomUUID()));
    expect(await issued('dropped')).toBe(3);

    proxy.resume();
    await tickets.flush();
    expect(await issued('stored')).toBe(3);
  });

  it('treats a key of the wrong shape as no ticket, logs it, and lets a new issue replace it', async () => {
    const { tickets, logger, refused } = store();
    const uuid = randomUUID();
    await redis.admin.hset(redis.key(`ticket:${uuid}`), 'relay', 'relay1.test:21117');
    const garbage = randomUUID();
    await redis.admin.set(redis.key(`ticket:${garbage}`), 'garbage', 'PX', 60_000);

    await expect(tickets.get(uuid)).resolves.toBeUndefined();
    await expect(tickets.get(garbage)).resolves.toBeUndefined();
    expect(await refused('malformed')).toBe(2);
    expect(logger.withMessage(REFUSED_READ)).toHaveLength(1);

    tickets.issue(ticketFor(uuid));
    await tickets.flush();
    expect(await tickets.get(uuid)).toMatchObject({ peers: ['111111111'], relay: 'relay1.test:21117' });
  });
});
