import { createPrismaClient, DeviceRepository, type PrismaClient } from '@switchboard/data-access';
import { createMetricsRegistry } from '@switchboard/observability';
import { waitFor } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { DeviceWriteBehind, type DeviceWriteBehindOptions } from './device-write-behind';
import { createCapturedLogger } from './test-support/captured-logger';
import { PostgresProxy } from './test-support/postgres-proxy';

jest.setTimeout(60_000);

const INSERTS = /^\s*INSERT INTO devices/;
const SEEN_UPDATES = /^\s*UPDATE devices AS d SET\s+last_seen_at/;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');

const registration = (id: string, seconds = 0, ip = '10.0.0.1') => ({
  id,
  uuid: Buffer.from(`uuid-${id}`),
  pk: Buffer.alloc(32, 7),
  ip,
  at: new Date(T0 + seconds * 1000),
});

describe('DeviceWriteBehind (real Postgres behind a proxy)', () => {
  let database: TestDatabase;
  /** Straight to Postgres: what the test reads is never counted, and works while the proxy is cut. */
  let direct: PrismaClient;
  let proxy: PostgresProxy;
  let throughProxy: PrismaClient;
  let writers: DeviceWriteBehind[];

  beforeAll(async () => {
    database = await createTestDatabase();
    direct = createPrismaClient(database.url);
  });

  afterAll(async () => {
    await direct.$disconnect();
    await database.drop();
  });

  beforeEach(async () => {
    await direct.$executeRaw`TRUNCATE devices CASCADE`;
    proxy = new PostgresProxy();
    await proxy.start();
    throughProxy = createPrismaClient(proxy.url(database.url));
    writers = [];
  });

  afterEach(async () => {
    await Promise.all(writers.map((writer) => writer.stop(100)));
    await throughProxy.$disconnect();
    await proxy.close();
  });

  function newWriter(options: Partial<DeviceWriteBehindOptions> = {}) {
    const captured = createCapturedLogger();
    const writer = new DeviceWriteBehind({
      store: new DeviceRepository(throughProxy),
      logger: captured.logger,
      registry: createMetricsRegistry({ defaultMetrics: false }),
      flushIntervalMs: 50,
      seenWriteIntervalMs: 60_000,
      retryMinMs: 50,
      retryMaxMs: 200,
      ...options,
    });
    writers.push(writer);
    return { writer, ...captured };
  }

  const rowCount = () => direct.device.count();

  it('writes 1,000 registrations in one INSERT, off the caller, and coalesces repeats per device', async () => {
    const { writer } = newWriter();
    writer.start();

    const started = performance.now();
    for (let n = 0; n < 1000; n++) writer.recordRegistration(registration(`dev${n}`, 1));
    // Re-registrations of the same devices before the flush: only the latest of each is written.
    for (let n = 0; n < 1000; n++) writer.recordRegistration(registration(`dev${n}`, 2, '10.0.0.2'));
    const recordMs = performance.now() - started;

    await waitFor(async () => (await rowCount()) === 1000, '1000 rows');
    expect(proxy.count(INSERTS)).toBe(1);
    expect(
      await direct.device.count({ where: { lastIp: '10.0.0.2', lastSeenAt: new Date(T0 + 2000) } }),
    ).toBe(1000);
    console.info(`2,000 recordRegistration calls returned in ${recordMs.toFixed(1)} ms`);
  });

  it('writes a device last-seen at most once per interval: 5 heartbeats × 500 devices → one UPDATE', async () => {
    const { writer } = newWriter({ seenWriteIntervalMs: 400 });
    for (let n = 0; n < 500; n++) writer.recordRegistration(registration(`dev${n}`));
    await writer.flush();
    writer.start();
    const before = proxy.count(SEEN_UPDATES);

    for (let beat = 1; beat <= 5; beat++) {
      for (let n = 0; n < 500; n++) writer.recordSeen(`dev${n}`, '10.0.0.1', new Date(T0 + beat * 15_000));
    }
    await waitFor(
      async () => (await direct.device.count({ where: { lastSeenAt: new Date(T0 + 75_000) } })) === 500,
      'the heartbeats',
    );
    // The rows are visible once Postgres commits, a moment before the writer has read the reply.
    await waitFor(async () => Promise.resolve(writer.pendingCount === 0), 'the batch to settle');

    expect(proxy.count(SEEN_UPDATES) - before).toBe(1);
  });

  it('flushes early when enough registrations wait, long before the interval', async () => {
    const { writer } = newWriter({ flushIntervalMs: 60_000, flushAtPending: 100 });
    writer.start();

    for (let n = 0; n < 250; n++) writer.recordRegistration(registration(`dev${n}`));

    await waitFor(async () => (await rowCount()) === 250, '250 rows', 3_000);
  });

  it('never un-bans, un-deletes or admits a device it writes', async () => {
    await direct.device.createMany({
      data: [
        { rustdeskId: 'ban001', banned: true, banReason: 'abuse' },
        { rustdeskId: 'del001', deletedAt: new Date(T0) },
        { rustdeskId: 'wait01', admission: 'pending' },
      ],
    });
    const { writer } = newWriter({ admissionForNewDevices: () => 'admitted' });

    for (const id of ['ban001', 'del001', 'wait01'])
      writer.recordRegistration(registration(id, 5, '10.9.9.9'));
    await writer.flush();

    const rows = await direct.device.findMany({ orderBy: { rustdeskId: 'asc' } });
    expect(rows.map((row) => [row.rustdeskId, row.banned, row.deletedAt, row.admission, row.lastIp])).toEqual(
      [
        ['ban001', true, null, 'admitted', '10.9.9.9'],
        ['del001', false, new Date(T0), 'admitted', '10.9.9.9'],
        ['wait01', false, null, 'pending', '10.9.9.9'],
      ],
    );
  });

  it('creates rows with the admission the policy dictates, and pending records as pending', async () => {
    let admission: 'admitted' | 'pending' = 'pending';
    const { writer } = newWriter({ admissionForNewDevices: () => admission });

    writer.recordRegistration(registration('asked1'));
    writer.recordPending('waits1', Buffer.from('uuid-w'), new Date(T0));
    admission = 'admitted';
    writer.recordRegistration(registration('open01'));
    await writer.flush();

    const rows = await direct.device.findMany({ orderBy: { rustdeskId: 'asc' } });
    expect(rows.map((row) => [row.rustdeskId, row.admission, row.pk === null])).toEqual([
      ['asked1', 'pending', false],
      ['open01', 'admitted', false],
      ['waits1', 'pending', true],
    ]);
  });

  it('renames a device before writing what was recorded under its new id', async () => {
    const { writer } = newWriter();
    writer.recordRegistration(registration('old111'));
    await writer.flush();

    writer.recordSeen('old111', '10.0.0.1', new Date(T0 + 30_000));
    writer.recordIdChange('old111', 'new111', new Date(T0 + 31_000));
    // The same machine (its uuid) under its new id: a row holding another uuid is never written.
    writer.recordRegistration({
      ...registration('new111', 32, '10.0.0.7'),
      uuid: Buffer.from('uuid-old111'),
    });
    await writer.flush();

    const rows = await direct.device.findMany();
    expect(rows.map((row) => [row.rustdeskId, row.lastIp, row.lastSeenAt])).toEqual([
      ['new111', '10.0.0.7', new Date(T0 + 32_000)],
    ]);
  });

  it('keeps serving through a Postgres outage, logs it once, and writes everything when it is back', async () => {
    const { writer, lines, warnings } = newWriter();
    writer.start();
    writer.recordRegistration(registration('before'));
    await waitFor(async () => (await rowCount()) === 1, 'the first row');

    await proxy.cut();
    for (let n = 0; n < 500; n++) writer.recordRegistration(registration(`down${n}`, 10));
    writer.recordIdChange('before', 'after1', new Date(T0 + 11_000));
    writer.recordSeen('down7', '10.0.0.1', new Date(T0 + 20_000));
    await waitFor(() => writer.failing, 'the first failed flush');
    const failuresBefore = lines.filter((line) => line.msg.startsWith('cannot write device rows')).length;
    // Let it retry (and back off) a few times while Postgres stays away.
    await new Promise((resolve) => setTimeout(resolve, 800));
    // 500 registrations and the id change; the heartbeat folded into down7's registration.
    expect(writer.pendingCount).toBe(501);
    expect(await rowCount()).toBe(1);

    await proxy.restore();
    await waitFor(() => !writer.failing && writer.pendingCount === 0, 'the backlog to be written');

    expect(await rowCount()).toBe(501);
    expect(await direct.device.findUnique({ where: { rustdeskId: 'after1' } })).not.toBeNull();
    expect((await direct.device.findUniqueOrThrow({ where: { rustdeskId: 'down7' } })).lastSeenAt).toEqual(
      new Date(T0 + 20_000),
    );
    expect(failuresBefore).toBe(1);
    // One warning for the whole outage, however many attempts failed; one line when it ends.
    expect(warnings().filter((msg) => msg.startsWith('cannot write device rows'))).toHaveLength(1);
    expect(lines.filter((line) => line.msg.startsWith('device writes reach Postgres again'))).toHaveLength(1);
    const recovered = lines.find((line) => line.msg.startsWith('device writes reach Postgres again'));
    expect(recovered?.['failedAttempts']).toBeGreaterThan(2);
  });

  it('writes what is pending on stop, and reports what it could not write by the deadline', async () => {
    const { writer } = newWriter({ flushIntervalMs: 60_000 });
    writer.start();
    for (let n = 0; n < 20; n++) writer.recordRegistration(registration(`dev${n}`));
    writer.recordSeen('dev3', '10.0.0.1', new Date(T0 + 5_000));

    expect(await writer.stop(5_000)).toBe(0);
    expect(await rowCount()).toBe(20);

    const { writer: stranded, lines } = newWriter({ flushIntervalMs: 60_000 });
    await proxy.cut();
    for (let n = 0; n < 7; n++) stranded.recordRegistration(registration(`lost${n}`));
    const started = Date.now();
    expect(await stranded.stop(300)).toBe(7);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(lines.find((line) => line.msg.startsWith('device writes lost at shutdown'))?.['lost']).toBe(7);
  });

  it('refuses records that could never be stored instead of failing a batch with them', async () => {
    const { writer, warnings } = newWriter();
    writer.recordRegistration(registration('ok0001'));
    writer.recordRegistration({ ...registration('bad id with spaces') });
    writer.recordRegistration({ ...registration('ok0002'), ip: 'x'.repeat(46) });
    await writer.flush();

    expect((await direct.device.findMany()).map((row) => row.rustdeskId)).toEqual(['ok0001']);
    expect(warnings()).toHaveLength(2);
  });
});
