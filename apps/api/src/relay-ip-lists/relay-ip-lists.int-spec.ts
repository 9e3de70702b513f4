import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { RelayAccessLists } from '@switchboard/relay-registry';

import { signInAs } from '../../test/api-test-harness';
import {
  auditEntries,
  EventRecorder,
  JSON_HEADERS,
  openKitParts,
  startKitApp,
} from '../../test/device-test-kit';
import { RedisConnection } from '../redis/redis.connection';

type Parts = Awaited<ReturnType<typeof openKitParts>>;

// The relays' managed IP lists: the operator API, the rows in Postgres, the Redis sets the relays read
// (written before each RelayBlocklistChanged event), and the rebuild that brings the sets back after
// Redis lost its data.
describe('relay IP lists', () => {
  let parts: Parts;
  let app: NestFastifyApplication;
  let events: EventRecorder;
  let admin: string;
  let lists: RelayAccessLists;
  const rebuiltKey = () => `${parts.prefix}:relay:ip-lists:rebuilt`;

  beforeAll(async () => {
    parts = await openKitParts('iplists');
    events = new EventRecorder(parts.prefix);
    await events.start();
    app = await startKitApp(parts);
    admin = (await signInAs(app, 'admin')).authorization;
    lists = new RelayAccessLists({ redis: parts.redis, prefix: `${parts.prefix}:relay` });
  });

  afterAll(async () => {
    await app?.close();
    await events?.stop();
    await parts.redis.del(`${parts.prefix}:relay:blocklist`, `${parts.prefix}:relay:blacklist`, rebuiltKey());
    parts.redis.disconnect();
    await parts.prisma.$disconnect();
    await parts.database.drop();
  });

  beforeEach(async () => {
    await parts.prisma.$executeRaw`TRUNCATE relay_ip_list_entries`;
    await parts.redis.del(`${parts.prefix}:relay:blocklist`, `${parts.prefix}:relay:blacklist`);
    events.clear();
  });

  function add(list: string, body: unknown, authorization = admin) {
    return app.inject({
      method: 'POST',
      url: `/api/v1/relay-ip-lists/${list}`,
      headers: { authorization, ...JSON_HEADERS },
      payload: JSON.stringify(body),
    });
  }

  function remove(list: string, address: string, authorization = admin) {
    return app.inject({
      method: 'DELETE',
      url: `/api/v1/relay-ip-lists/${list}/${encodeURIComponent(address)}`,
      headers: { authorization },
    });
  }

  function listAll(authorization = admin) {
    return app.inject({ method: 'GET', url: '/api/v1/relay-ip-lists', headers: { authorization } });
  }

  it('adds an IP in the form relays compare, writes Redis before the event, lists and audits it', async () => {
    const response = await add('blocklist', { address: '2001:DB8:0:0:0:0:0:7', note: 'scanner' });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      list: 'blocklist',
      address: '2001:db8::7',
      note: 'scanner',
      createdBy: { username: expect.any(String) },
    });

    const [event] = await events.waitFor(1);
    expect(event).toEqual({
      type: 'RelayBlocklistChanged',
      payload: { list: 'blocklist', action: 'add', entry: '2001:db8::7' },
    });
    expect([...(await lists.ipList('blocklist'))]).toEqual(['2001:db8::7']);
    expect([...(await lists.ipList('blacklist'))]).toEqual([]);

    const listed = await listAll();
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toEqual([expect.objectContaining({ list: 'blocklist', address: '2001:db8::7' })]);

    const [audit] = await auditEntries(parts.prisma, 'relay_ip_list.add');
    expect(audit).toMatchObject({
      targetType: 'relay_ip_list_entry',
      targetId: 'blocklist:2001:db8::7',
      details: expect.objectContaining({ list: 'blocklist', address: '2001:db8::7', note: 'scanner' }),
    });
  });

  it('keeps the two lists apart, refuses a duplicate and removes an entry with its event and audit', async () => {
    expect((await add('blocklist', { address: '198.51.100.4' })).statusCode).toBe(201);
    expect((await add('blacklist', { address: '::ffff:198.51.100.4' })).statusCode).toBe(201);
    const duplicate = await add('blocklist', { address: '198.51.100.4' });
    expect(duplicate.statusCode).toBe(409);
    expect([...(await lists.ipList('blacklist'))]).toEqual(['198.51.100.4']);

    expect((await remove('blocklist', '198.51.100.4')).statusCode).toBe(204);
    expect((await remove('blocklist', '198.51.100.4')).statusCode).toBe(404);
    expect([...(await lists.ipList('blocklist'))]).toEqual([]);
    expect([...(await lists.ipList('blacklist'))]).toEqual(['198.51.100.4']);
    const received = await events.waitFor(3);
    expect(received.at(-1)).toEqual({
      type: 'RelayBlocklistChanged',
      payload: { list: 'blocklist', action: 'remove', entry: '198.51.100.4' },
    });
    expect(await auditEntries(parts.prisma, 'relay_ip_list.remove', 'blocklist:198.51.100.4')).toHaveLength(
      1,
    );
  });

  it.each([
    ['a range', { address: '10.0.0.0/8' }],
    ['a host name', { address: 'relay.example.com' }],
    ['a short IPv4', { address: '10.1' }],
    ['a control character in the note', { address: '10.0.0.1', note: 'a\u0000b' }],
    ['an unknown field', { address: '10.0.0.1', until: 'tomorrow' }],
  ])('refuses %s with 400 and changes nothing', async (_what, body) => {
    const response = await add('blocklist', body);
    expect(response.statusCode).toBe(400);
    expect(await parts.prisma.relayIpListEntry.count()).toBe(0);
    expect(await lists.ipList('blocklist')).toEqual(new Set());
  });

  it('refuses an unknown list name', async () => {
    expect((await add('allowlist', { address: '10.0.0.1' })).statusCode).toBe(400);
    expect((await remove('allowlist', '10.0.0.1')).statusCode).toBe(400);
  });

  it('is for admins only', async () => {
    for (const role of ['operator', 'viewer', 'pro'] as const) {
      const authorization = (await signInAs(app, role)).authorization;
      expect((await listAll(authorization)).statusCode).toBe(403);
      expect((await add('blocklist', { address: '10.0.0.1' }, authorization)).statusCode).toBe(403);
    }
    expect((await app.inject({ method: 'GET', url: '/api/v1/relay-ip-lists' })).statusCode).toBe(401);
    expect(await parts.prisma.relayIpListEntry.count()).toBe(0);
  });

  it('rebuilds both lists from Postgres when its Redis connection comes back, with a fresh rebuild id', async () => {
    expect((await add('blocklist', { address: '203.0.113.9' })).statusCode).toBe(201);
    expect((await add('blacklist', { address: '203.0.113.10' })).statusCode).toBe(201);
    const firstRebuild = await parts.redis.get(rebuiltKey());
    expect(firstRebuild).not.toBeNull();

    // Redis restarted without its data, and an entry someone added to Redis by hand: the rows win.
    await parts.redis.del(`${parts.prefix}:relay:blocklist`, `${parts.prefix}:relay:blacklist`, rebuiltKey());
    await parts.redis.sadd(`${parts.prefix}:relay:blocklist`, '192.0.2.200');
    app.get(RedisConnection).client.disconnect(true);
    const deadline = Date.now() + 10_000;
    while ((await parts.redis.get(rebuiltKey())) === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const snapshot = await lists.ipListsSnapshot();
    expect(snapshot.rebuild).not.toBeNull();
    expect(snapshot.rebuild).not.toBe(firstRebuild);
    expect([...snapshot.blocklist]).toEqual(['203.0.113.9']);
    expect([...snapshot.blacklist]).toEqual(['203.0.113.10']);
  });
});
