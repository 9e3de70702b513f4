import { type AddressInfo } from 'node:net';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  RelayNodeDirectory,
  RelayRecordKey,
  registryKeys,
  type RelayNodeRecord,
} from '@switchboard/relay-registry';
import { WebSocket } from 'ws';

import {
  type BrowserSession,
  consoleHeaders,
  createUser,
  signInBrowser,
  type TestUser,
} from '../../test/auth-helpers';
import { openKitParts, startKitApp } from '../../test/device-test-kit';
import { LIVE_CLOSE, type LiveMessage, type LiveMessageType } from './live-message';

// The console's live stream against two real api instances on one Postgres and one Redis, through
// real sockets: sessions from the real login endpoint, bans through the real REST route.

const RELAY_KEY = RelayRecordKey.generate();
const WAIT_MS = 10_000;

interface Refused {
  readonly refused: number;
}

class LiveClient {
  readonly frames: LiveMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.frames.push(JSON.parse(data.toString()) as LiveMessage));
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** The first frame matching, waiting generously: pub/sub and polls are asynchronous. */
  async next<K extends LiveMessageType>(
    type: K,
    matches: (frame: Extract<LiveMessage, { type: K }>) => boolean = () => true,
  ): Promise<Extract<LiveMessage, { type: K }>> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const found = this.frames.find(
        (frame): frame is Extract<LiveMessage, { type: K }> =>
          frame.type === type && matches(frame as Extract<LiveMessage, { type: K }>),
      );
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(`no ${type} frame in ${WAIT_MS} ms; got ${JSON.stringify(this.frames)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async closedWithin(): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('socket stayed open')), WAIT_MS);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.terminate();
  }
}

describe('console live events (GET /api/v1/live)', () => {
  let parts: Awaited<ReturnType<typeof openKitParts>>;
  let first: NestFastifyApplication;
  let second: NestFastifyApplication;
  let firstPort: number;
  let secondPort: number;
  const clients: LiveClient[] = [];

  const env = {
    LIVE_HEARTBEAT_INTERVAL_MS: '1000',
    LIVE_MAX_CONNECTIONS_PER_USER: '3',
    LIVE_PRESENCE_POLL_MS: '300',
    LIVE_AUDIT_POLL_MS: '300',
    LIVE_RELAY_POLL_MS: '300',
    LIVE_MAX_INCOMING_BYTES: '1024',
    LIVE_ORIGINS: 'https://console-dev.example.test',
    RELAY_REGISTRY_KEY: RELAY_KEY.toBase64(),
  };

  async function listen(app: NestFastifyApplication): Promise<number> {
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.getHttpServer().address() as AddressInfo).port;
  }

  beforeAll(async () => {
    parts = await openKitParts('live');
    first = await startKitApp(parts, env);
    second = await startKitApp(parts, env);
    firstPort = await listen(first);
    secondPort = await listen(second);
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    parts?.redis.disconnect();
    await parts?.prisma.$disconnect();
    await parts?.database.drop();
  });

  function open(
    port: number,
    headers: Record<string, string>,
    options: { origin?: string | null } = {},
  ): Promise<LiveClient | Refused> {
    const origin = options.origin === undefined ? `http://127.0.0.1:${port}` : options.origin;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/api/v1/live`, {
      headers: { ...headers, ...(origin === null ? {} : { origin }) },
    });
    return new Promise((resolve, reject) => {
      socket.once('unexpected-response', (_request, response) => {
        resolve({ refused: response.statusCode ?? 0 });
        socket.terminate();
      });
      socket.once('upgrade', () => {
        const client = new LiveClient(socket);
        clients.push(client);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  async function openLive(port: number, browser: BrowserSession): Promise<LiveClient> {
    const client = await open(port, { cookie: browser.cookie });
    if ('refused' in client) throw new Error(`refused with ${client.refused}`);
    await client.next('hello');
    return client;
  }

  async function consoleUser(role: 'admin' | 'operator' | 'viewer'): Promise<{
    user: TestUser;
    browser: BrowserSession;
  }> {
    const user = await createUser(first, role);
    return { user, browser: await signInBrowser(first, user) };
  }

  function post(app: NestFastifyApplication, url: string, browser: BrowserSession, payload: unknown = {}) {
    return app.inject({
      method: 'POST',
      url,
      headers: { ...consoleHeaders(browser), 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
  }

  describe('who may connect', () => {
    it('refuses an upgrade without a session cookie (401), with a bad one (401) or with only a bearer token (401)', async () => {
      expect(await open(firstPort, {})).toEqual({ refused: 401 });
      expect(await open(firstPort, { cookie: '__Host-sb_session=not-a-session' })).toEqual({ refused: 401 });
      const user = await createUser(first, 'admin');
      const token = await first.inject({
        method: 'POST',
        url: '/api/v1/auth/token',
        payload: { username: user.username, password: user.password },
      });
      expect(token.statusCode).toBe(200);
      expect(
        await open(firstPort, {
          authorization: `Bearer ${token.json<{ accessToken: string }>().accessToken}`,
        }),
      ).toEqual({ refused: 401 });
    });

    it('refuses a foreign, a missing and a null Origin (403) even with a valid session', async () => {
      const { browser } = await consoleUser('admin');
      const cookie = { cookie: browser.cookie };
      expect(await open(firstPort, cookie, { origin: 'https://evil.example.net' })).toEqual({ refused: 403 });
      expect(await open(firstPort, cookie, { origin: null })).toEqual({ refused: 403 });
      expect(await open(firstPort, cookie, { origin: 'null' })).toEqual({ refused: 403 });
      // Loopback, but not the Host this request went to.
      expect(await open(firstPort, cookie, { origin: `http://127.0.0.1:${secondPort}` })).toEqual({
        refused: 403,
      });
    });

    it('answers 404 for an upgrade to any other path', async () => {
      const socket = new WebSocket(`ws://127.0.0.1:${firstPort}/api/v1/devices`);
      const status = await new Promise<number>((resolve) => {
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.once('error', () => resolve(-1));
      });
      socket.terminate();
      expect(status).toBe(404);
    });

    it('greets a console with hello: the user and the frames its role may receive', async () => {
      const { user, browser } = await consoleUser('viewer');
      const client = await openLive(firstPort, browser);
      const hello = await client.next('hello');
      expect(client.frames[0]?.type).toBe('hello');
      expect(hello.data.user).toEqual({ id: user.user.id, username: user.username, role: 'viewer' });
      expect(hello.data.heartbeatMs).toBe(1000);
      expect(hello.data.receives).toEqual(
        expect.arrayContaining(['device.banned', 'device.online', 'audit.appended', 'resync']),
      );
      expect(new Date(hello.at).getTime()).not.toBeNaN();
    });

    it('lets an origin from LIVE_ORIGINS in', async () => {
      const { browser } = await consoleUser('viewer');
      const client = await open(
        firstPort,
        { cookie: browser.cookie },
        { origin: 'https://console-dev.example.test' },
      );
      expect('refused' in client).toBe(false);
      if (!('refused' in client)) await client.next('hello');
    });

    it('caps connections per user (429) and frees the slot when one closes', async () => {
      const { browser } = await consoleUser('viewer');
      const held = [];
      for (let index = 0; index < 3; index += 1) held.push(await openLive(firstPort, browser));
      expect(await open(firstPort, { cookie: browser.cookie })).toEqual({ refused: 429 });
      // The cap is per replica: the other one still takes this user.
      await openLive(secondPort, browser);
      held[0]?.socket.close();
      await held[0]?.closed;
      await openLive(firstPort, browser);
    });
  });

  describe('what it carries', () => {
    it('delivers a ban made through one replica to consoles on both, with its audit entry', async () => {
      await parts.prisma.device.create({ data: { rustdeskId: '555000111', hostname: 'laptop' } });
      const { user: operator, browser: operatorBrowser } = await consoleUser('operator');
      const { browser: viewerBrowser } = await consoleUser('viewer');
      const onFirst = await openLive(firstPort, viewerBrowser);
      const onSecond = await openLive(secondPort, operatorBrowser);

      const ban = await post(first, '/api/v1/devices/555000111/ban', operatorBrowser, { reason: 'stolen' });
      expect(ban.statusCode).toBe(200);

      const expected = { id: '555000111', reason: 'stolen', actor: `user:${operator.user.id}` };
      expect((await onFirst.next('device.banned')).data).toEqual(expected);
      expect((await onSecond.next('device.banned')).data).toEqual(expected);
      const audit = await onSecond.next('audit.appended', (frame) => frame.data.action === 'device.ban');
      expect(audit.data).toMatchObject({
        actor: { type: 'user', id: operator.user.id },
        target: { type: 'device', id: '555000111' },
      });
      expect(audit.data.id).toMatch(/^\d+$/);

      // (The test apps hold different secrets, so the CSRF token only passes where the login happened.)
      expect((await post(first, '/api/v1/devices/555000111/unban', operatorBrowser)).statusCode).toBe(200);
      expect((await onFirst.next('device.unbanned')).data).toMatchObject({ id: '555000111' });
    });

    it('announces devices coming online and going offline (last_seen_at against the online window)', async () => {
      await parts.prisma.device.create({
        data: { rustdeskId: '777000111', lastSeenAt: new Date(Date.now() - 3_600_000) },
      });
      const { browser } = await consoleUser('viewer');
      const client = await openLive(firstPort, browser);

      await parts.prisma.device.update({
        where: { rustdeskId: '777000111' },
        data: { lastSeenAt: new Date() },
      });
      expect((await client.next('device.online', (frame) => frame.data.id === '777000111')).data).toEqual({
        id: '777000111',
      });

      await parts.prisma.device.update({
        where: { rustdeskId: '777000111' },
        data: { lastSeenAt: new Date(Date.now() - 3_600_000) },
      });
      await client.next('device.offline', (frame) => frame.data.id === '777000111');
    });

    it('sums up more presence changes than LIVE_MAX_BATCH in one devices.changed frame', async () => {
      const { browser } = await consoleUser('viewer');
      const client = await openLive(firstPort, browser);
      const ids = Array.from({ length: 250 }, (_, index) => `880${String(index).padStart(6, '0')}`);
      await parts.prisma.device.createMany({
        data: ids.map((rustdeskId) => ({ rustdeskId, lastSeenAt: new Date() })),
      });
      expect((await client.next('devices.changed')).data).toMatchObject({ online: 250 });
      expect(client.frames.filter((frame) => frame.type === 'device.online')).toEqual([]);
    });

    it('sends the relay node list when a node announces itself', async () => {
      const { browser } = await consoleUser('viewer');
      const client = await openLive(firstPort, browser);
      const directory = new RelayNodeDirectory(parts.redis, registryKeys(`${parts.prefix}:relay`), RELAY_KEY);
      const record: RelayNodeRecord = {
        nodeId: 'relay-a',
        address: 'relay-a.example.test:21117',
        sessions: 3,
        bytesPerSecond: 0,
        capacity: 100,
        draining: false,
        updatedAt: Date.now(),
      };
      await directory.publish(record, 60_000);
      const frame = await client.next('relay.changed', (changed) => changed.data.nodes.length === 1);
      expect(frame.data.nodes).toEqual([
        {
          nodeId: 'relay-a',
          address: 'relay-a.example.test:21117',
          sessions: 3,
          capacity: 100,
          bytesPerSecond: 0,
          draining: false,
        },
      ]);
      await directory.remove('relay-a');
      await client.next('relay.changed', (changed) => changed.data.nodes.length === 0);
    });
  });

  describe('when it ends', () => {
    it('closes the stream when its session logs out (4401), on the next heartbeat tick', async () => {
      const { browser } = await consoleUser('viewer');
      const client = await openLive(firstPort, browser);
      const logout = await post(first, '/api/v1/auth/logout', browser);
      expect(logout.statusCode).toBeLessThan(300);
      expect(await client.closedWithin()).toEqual({ code: LIVE_CLOSE.sessionEnded, reason: 'session ended' });
    });

    it('closes every stream of a user an admin disables, on every replica (UserSessionsRevoked)', async () => {
      const { browser: adminBrowser } = await consoleUser('admin');
      const { user, browser } = await consoleUser('operator');
      const onFirst = await openLive(firstPort, browser);
      const onSecond = await openLive(secondPort, browser);
      const disabled = await post(first, `/api/v1/users/${user.user.id}/disable`, adminBrowser);
      expect(disabled.statusCode).toBe(200);
      expect((await onFirst.closedWithin()).code).toBe(LIVE_CLOSE.sessionEnded);
      expect((await onSecond.closedWithin()).code).toBe(LIVE_CLOSE.sessionEnded);
    });

    it('closes a socket that sends a frame over LIVE_MAX_INCOMING_BYTES (1009) and carries on', async () => {
      const { browser } = await consoleUser('viewer');
      const client = await openLive(firstPort, browser);
      client.socket.send('x'.repeat(64 * 1024));
      expect((await client.closedWithin()).code).toBe(1009);
      // Small frames are ignored; the app still serves sockets and requests.
      const other = await openLive(firstPort, browser);
      other.socket.send('{"type":"anything"}');
      expect((await first.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      await openLive(firstPort, browser);
      expect(other.socket.readyState).toBe(WebSocket.OPEN);
    });
  });
});
