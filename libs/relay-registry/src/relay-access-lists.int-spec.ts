import { RelayAccessLists } from './relay-access-lists';
import { RedisFixture } from './test-support/redis-fixture';

describe('RelayAccessLists (real Redis)', () => {
  let redis: RedisFixture;
  let lists: RelayAccessLists;

  beforeEach(() => {
    redis = new RedisFixture();
    lists = new RelayAccessLists({ redis: redis.serviceClient(), prefix: redis.prefix });
  });
  afterEach(() => redis.close());

  it('keeps denied devices in one set under the prefix and answers membership', async () => {
    await lists.denyDevices(['111111111', 'custom-id', 'not valid!']);
    expect(await redis.admin.smembers(redis.key('denied-devices'))).toEqual(
      expect.arrayContaining(['111111111', 'custom-id']),
    );
    expect(await redis.admin.scard(redis.key('denied-devices'))).toBe(2);
    expect(await lists.isDeviceDenied('111111111')).toBe(true);
    expect(await lists.isDeviceDenied('222222222')).toBe(false);

    await lists.allowDevices(['111111111']);
    expect(await lists.deniedDevices()).toEqual(new Set(['custom-id']));
  });

  it('reads a set far larger than one SSCAN batch completely', async () => {
    const ids = Array.from({ length: 5_000 }, (_, index) => String(100_000_000 + index));
    await redis.admin.sadd(redis.key('denied-devices'), ...ids);
    const loaded = await lists.deniedDevices();
    expect(loaded.size).toBe(5_000);
    expect(loaded.has('100004999')).toBe(true);
  });

  it('skips members a relay could not match, whoever wrote them', async () => {
    await redis.admin.sadd(redis.key('denied-devices'), '123456789', 'bad id', '');
    await redis.admin.sadd(redis.key('blocklist'), '203.0.113.9', 'two words', 'x'.repeat(200));
    expect(await lists.deniedDevices()).toEqual(new Set(['123456789']));
    expect(await lists.ipList('blocklist')).toEqual(new Set(['203.0.113.9']));
  });

  it('keeps the two IP lists apart', async () => {
    await lists.addToIpList('blocklist', ['198.51.100.1', ' 2001:db8::1 ']);
    await lists.addToIpList('blacklist', ['198.51.100.2']);
    expect(await lists.ipList('blocklist')).toEqual(new Set(['198.51.100.1', '2001:db8::1']));
    expect(await lists.ipList('blacklist')).toEqual(new Set(['198.51.100.2']));
    await lists.removeFromIpList('blocklist', ['198.51.100.1']);
    expect(await lists.ipList('blocklist')).toEqual(new Set(['2001:db8::1']));
    expect(await lists.ipList('blacklist')).toEqual(new Set(['198.51.100.2']));
  });

  it('reads the set with the id of the last complete rebuild, a fresh id each time, none once Redis lost it', async () => {
    await lists.denyDevices(['111111111']);
    expect(await lists.deniedDevicesSnapshot()).toEqual({ rebuild: null, ids: new Set(['111111111']) });
    await lists.markDeniedDevicesRebuilt();
    const first = (await lists.deniedDevicesSnapshot()).rebuild;
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    await lists.markDeniedDevicesRebuilt();
    expect((await lists.deniedDevicesSnapshot()).rebuild).not.toBe(first);
    await redis.admin.del(redis.key('denied-devices'), redis.key('denied-devices:rebuilt'));
    expect(await lists.deniedDevicesSnapshot()).toEqual({ rebuild: null, ids: new Set() });
  });

  it('reads both IP lists with the id of their last complete rebuild', async () => {
    await lists.addToIpList('blocklist', ['198.51.100.7']);
    expect(await lists.ipListsSnapshot()).toEqual({
      rebuild: null,
      blocklist: new Set(['198.51.100.7']),
      blacklist: new Set(),
    });
    await lists.markIpListsRebuilt();
    const first = (await lists.ipListsSnapshot()).rebuild;
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    // Its own id, apart from the deny set's.
    expect((await lists.deniedDevicesSnapshot()).rebuild).toBeNull();
    await lists.markIpListsRebuilt();
    expect((await lists.ipListsSnapshot()).rebuild).not.toBe(first);
  });

  it('reads empty sets when nothing was ever written', async () => {
    expect(await lists.deniedDevices()).toEqual(new Set());
    expect(await lists.ipList('blacklist')).toEqual(new Set());
  });
});
