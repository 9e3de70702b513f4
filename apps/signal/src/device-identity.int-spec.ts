import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

import { RecordingAuditSink } from '@switchboard/audit-queue';
import {
  createPrismaClient,
  DeviceRepository,
  type PrismaClient,
  uuidDigest,
} from '@switchboard/data-access';
import { EventSigningKey, RedisEventBus } from '@switchboard/events';
import { createMetricsRegistry } from '@switchboard/observability';
import {
  decodeRendezvous,
  encodeRendezvous,
  type RegisterPk,
  RegisterPkResponse_Result,
} from '@switchboard/protocol';
import { freeSignalPorts } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { TrustedProxies } from '@switchboard/transport';
import { Redis } from 'ioredis';

import { createDeviceAdmission, type DeviceAdmission } from './admission/device-admission';
import { StaticRelayPicker } from './defaults';
import { type RegistrationPolicy } from './ports';
import { SignalServer } from './server';
import { SignalCore, type SignalLimits } from './signal-core';
import { RecordingTickets, RELAY, silentLogger, testIdentity } from './test/core-harness';

// Issue 10 item 1: a device id must not change hands across a signal restart. Each "process" is a
// real admission (Postgres, Redis events) and core behind real UDP listeners; the second starts with
// an empty peer map over the same database, as after a restart. Each client sends from its own
// loopback address, so the IPs differ as they would on the Internet.

jest.setTimeout(60_000);

const REDIS_URL = 'redis://127.0.0.1:6379';
const { OK, UUID_MISMATCH, NOT_DEPLOYED, TOO_FREQUENT } = RegisterPkResponse_Result;
const REAL_KEY = Buffer.alloc(32, 1);
const THIEF_KEY = Buffer.alloc(32, 6);

/** Two different uuids with the same 24-bit digest: a birthday search, a few thousand tries. */
function collidingUuids(): [Buffer, Buffer] {
  const seen = new Map<number, Buffer>();
  for (let n = 0; ; n++) {
    const uuid = Buffer.from(`machine-${n}`);
    const twin = seen.get(uuidDigest(uuid));
    if (twin !== undefined) return [twin, uuid];
    seen.set(uuidDigest(uuid), uuid);
  }
}

interface SignalProcess {
  readonly admission: DeviceAdmission;
  readonly core: SignalCore;
  readonly port: number;
  stop(): Promise<void>;
}

describe('device identity across a signal restart (real Postgres, Redis and UDP)', () => {
  let database: TestDatabase;
  let prisma: PrismaClient;
  let redis: Redis;
  let prefix: string;
  const sockets: Socket[] = [];
  const running: SignalProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createPrismaClient(database.url);
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    await prisma.$disconnect();
    await redis.quit();
    await database.drop();
  });

  beforeEach(async () => {
    await prisma.$executeRaw`TRUNCATE devices CASCADE`;
    await prisma.$executeRaw`TRUNCATE settings`;
    prefix = `test:identity:${randomUUID()}`;
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    for (const signal of running.splice(0)) await signal.stop();
    await redis.del(`${prefix}:events:seq`);
  });

  async function startSignal(
    policy: RegistrationPolicy,
    limits: Partial<SignalLimits> = {},
    flushIntervalMs = 50,
  ): Promise<SignalProcess> {
    const client = createPrismaClient(database.url);
    const events = new RedisEventBus({
      redis: REDIS_URL,
      prefix: `${prefix}:events`,
      // Nothing publishes here; a subscriber needs a verify key all the same.
      verifyKey: EventSigningKey.generate().verifyKey,
      logger: silentLogger,
    });
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const admission = createDeviceAdmission({
      devices: new DeviceRepository(client),
      events,
      logger: silentLogger,
      registry,
      defaultPolicy: policy,
      writer: { flushIntervalMs },
    });
    const identity = testIdentity();
    const core = new SignalCore({
      logger: silentLogger,
      registry,
      serverKey: { licenceKey: undefined, signingKeyPair: identity },
      access: admission.access,
      writer: admission.writer,
      relays: new StaticRelayPicker([RELAY]),
      tickets: new RecordingTickets(),
      audit: new RecordingAuditSink(),
      limits,
    });
    admission.start();
    await events.start();
    const { port } = await freeSignalPorts();
    const server = new SignalServer(core, {
      ports: { host: '127.0.0.1', port, natTestPort: port - 1, wsPort: port + 2 },
      trustedProxies: new TrustedProxies([]),
      logger: silentLogger,
    });
    await server.start();
    const signal = {
      admission,
      core,
      port,
      async stop() {
        running.splice(running.indexOf(signal), 1);
        await server.close();
        await admission.stop(2_000);
        await events.stop();
        await client.$disconnect();
      },
    };
    running.push(signal);
    return signal;
  }

  /** One RegisterPk over UDP from `address`; the result signal answers. */
  async function registerPk(
    signal: SignalProcess,
    address: string,
    message: Pick<RegisterPk, 'id' | 'uuid' | 'pk'>,
  ): Promise<RegisterPkResponse_Result> {
    const socket = createSocket('udp4');
    sockets.push(socket);
    socket.bind(0, address);
    await once(socket, 'listening');
    const reply = once(socket, 'message');
    const request = { ...message, oldId: '', noRegisterDevice: false };
    socket.send(encodeRendezvous({ $case: 'registerPk', value: request }), signal.port, '127.0.0.1');
    const [bytes] = (await reply) as [Buffer];
    const decoded = decodeRendezvous(bytes);
    if (!decoded.ok || decoded.payload.$case !== 'registerPkResponse')
      throw new Error('not a RegisterPkResponse');
    return decoded.payload.value.result;
  }

  /** Several RegisterPk over UDP, each from its own socket on `address`; the results in order. */
  async function registerEach(signal: SignalProcess, messages: { address: string; message: RegisterPk }[]) {
    const results: RegisterPkResponse_Result[] = [];
    for (const { address, message } of messages) results.push(await registerPk(signal, address, message));
    return results;
  }

  async function storedRow(id: string) {
    const row = await prisma.device.findUniqueOrThrow({ where: { rustdeskId: id } });
    return { uuid: Buffer.from(row.uuid ?? []), pk: Buffer.from(row.pk ?? []), lastIp: row.lastIp };
  }

  it('refuses the same uuid with a new key from a new IP, and a digest twin, after a restart; the device keeps its id', async () => {
    const [uuid, twin] = collidingUuids();
    const device = { id: '123456789', uuid, pk: REAL_KEY };
    const first = await startSignal('open');
    expect(await registerPk(first, '127.0.0.2', device)).toBe(OK);
    await first.stop();
    expect(await storedRow(device.id)).toEqual({ uuid, pk: REAL_KEY, lastIp: '127.0.0.2' });

    const restarted = await startSignal('open');
    expect(restarted.core.peers.size).toBe(0);
    // The uuid travels in clear: a thief replays it with its own key, from its own address.
    expect(await registerPk(restarted, '127.0.0.3', { ...device, pk: THIEF_KEY })).toBe(UUID_MISMATCH);
    // Another machine whose uuid shares the 24-bit digest.
    expect(await registerPk(restarted, '127.0.0.4', { ...device, uuid: twin, pk: THIEF_KEY })).toBe(
      UUID_MISMATCH,
    );
    expect(restarted.core.peers.get(device.id)?.pkBytes).toEqual(REAL_KEY);

    // The real device, from a new address: OK, under its own id and key.
    expect(await registerPk(restarted, '127.0.0.5', device)).toBe(OK);
    await restarted.admission.writeBehind.flush();
    expect(await storedRow(device.id)).toEqual({ uuid, pk: REAL_KEY, lastIp: '127.0.0.5' });
  });

  it('under token refuses a new key of an admitted device after a restart, even from its own IP, with NOT_DEPLOYED', async () => {
    const uuid = Buffer.from('machine-token');
    await prisma.device.create({ data: { rustdeskId: '987654321', uuid, admission: 'admitted' } });
    const device = { id: '987654321', uuid, pk: REAL_KEY };
    const first = await startSignal('token');
    expect(await registerPk(first, '127.0.0.2', device)).toBe(OK);
    await first.stop();

    const restarted = await startSignal('token');
    expect(await registerPk(restarted, '127.0.0.2', { ...device, pk: THIEF_KEY })).toBe(NOT_DEPLOYED);
    expect(await registerPk(restarted, '127.0.0.2', device)).toBe(OK);
    await restarted.admission.writeBehind.flush();
    expect(await storedRow(device.id)).toMatchObject({ uuid, pk: REAL_KEY });
  });

  it('under approval records new devices from UDP as pending only within the global rate of new devices', async () => {
    const signal = await startSignal('approval', { udpNewDevices: 3, udpNewDevicesWindowMs: 600_000 });
    await signal.admission.access.whenLoaded(10_000);
    const flood = Array.from({ length: 8 }, (_, n) => ({
      address: `127.0.0.${n + 2}`,
      message: {
        id: `${500000000 + n}`,
        uuid: Buffer.from(`forged-${n}`),
        pk: THIEF_KEY,
        oldId: '',
        noRegisterDevice: false,
      },
    }));

    const results = await registerEach(signal, flood);

    expect(results.filter((result) => result === NOT_DEPLOYED)).toHaveLength(3);
    expect(results.filter((result) => result === TOO_FREQUENT)).toHaveLength(5);
    await signal.admission.writeBehind.flush();
    expect(await prisma.device.count({ where: { admission: 'pending' } })).toBe(3);
    expect(signal.core.peers.size).toBe(0);
  });

  it('keeps an id registered since the last snapshot for its machine after the peer map evicted it', async () => {
    // A tiny map whose peers go offline at once, so every new device evicts the oldest.
    const signal = await startSignal('open', { maxPeers: 4, onlineWindowMs: 1 });
    const device = { id: '111222333', uuid: Buffer.from('machine-late'), pk: REAL_KEY };
    expect(await registerPk(signal, '127.0.0.2', device)).toBe(OK);
    for (let n = 0; n < 8; n++) {
      const other = { id: `${400000000 + n}`, uuid: Buffer.from(`machine-${n}`), pk: REAL_KEY };
      expect(await registerPk(signal, `127.0.1.${n + 1}`, other)).toBe(OK);
    }
    expect(signal.core.peers.has(device.id)).toBe(false);

    const thief = { id: device.id, uuid: Buffer.from('machine-thief'), pk: THIEF_KEY };
    expect(await registerPk(signal, '127.0.0.3', thief)).toBe(UUID_MISMATCH);
    await signal.admission.writeBehind.flush();
    expect(await registerPk(signal, '127.0.0.4', device)).toBe(OK);
    expect(signal.core.peers.get(device.id)?.pkBytes).toEqual(REAL_KEY);
  });

  it('refuses for now an evicted id whose registration is not written yet, rather than take it as new', async () => {
    const [uuid, twin] = collidingUuids();
    // Rows are written only when flushed by hand; peers go offline at once and are evicted.
    const signal = await startSignal('open', { maxPeers: 4, onlineWindowMs: 1 }, 3_600_000);
    await signal.admission.access.whenLoaded(10_000);
    const device = { id: '222333444', uuid, pk: REAL_KEY };
    expect(await registerPk(signal, '127.0.0.2', device)).toBe(OK);
    for (let n = 0; n < 8; n++) {
      const other = { id: `${410000000 + n}`, uuid: Buffer.from(`machine-${n}-x`), pk: REAL_KEY };
      expect(await registerPk(signal, `127.0.1.${n + 1}`, other)).toBe(OK);
    }
    expect(signal.core.peers.has(device.id)).toBe(false);

    expect(await registerPk(signal, '127.0.0.3', { ...device, uuid: twin, pk: THIEF_KEY })).toBe(
      TOO_FREQUENT,
    );
    await signal.admission.writeBehind.flush();
    expect(await registerPk(signal, '127.0.0.3', { ...device, uuid: twin, pk: THIEF_KEY })).toBe(
      UUID_MISMATCH,
    );
    expect(await registerPk(signal, '127.0.0.4', device)).toBe(OK);
  });
});
