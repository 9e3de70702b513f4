import { EventEmitter } from 'node:events';

import { type WebSocket } from 'ws';

import { type ApiConfig } from '../config';
import { type LiveViewer, receivesWith, sessionCookieOf } from './live-admission';
import { LiveConnection } from './live-connection';
import { LIVE_CLOSE, type LiveMessageType } from './live-message';
import { type LiveDropReason } from './live-metrics';
import { LiveOriginPolicy } from './live-origin-policy';
import { diffPresence } from './sources/presence-watcher';

/** The parts of a ws socket LiveConnection uses, recording what it was asked to do. */
class FakeSocket extends EventEmitter {
  bufferedAmount = 0;
  readonly sent: string[] = [];
  closedWith: { code: number; reason: string } | undefined;
  terminated = false;
  pings = 0;
  send(frame: string): void {
    this.sent.push(frame);
    this.bufferedAmount += frame.length;
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  terminate(): void {
    this.terminated = true;
  }
  ping(): void {
    this.pings += 1;
  }
}

function connectionWith(receives: ReadonlySet<LiveMessageType>, maxBufferedBytes = 1_000) {
  const socket = new FakeSocket();
  const drops: LiveDropReason[] = [];
  const viewer: LiveViewer = {
    userId: 'u1',
    username: 'ann',
    role: 'viewer',
    sessionId: 's1',
    sessionToken: 't',
    receives,
  };
  const connection = new LiveConnection(
    socket as unknown as WebSocket,
    viewer,
    { maxBufferedBytes },
    { sent: () => undefined, dropped: (reason) => drops.push(reason) },
  );
  return { socket, connection, drops };
}

describe('live stream: what a connection receives', () => {
  it('a holder without audit.view is never sent audit frames; device frames need device.view', () => {
    const noAudit = receivesWith((permission) => permission !== 'audit.view');
    expect(noAudit.has('audit.appended')).toBe(false);
    expect(noAudit.has('device.banned')).toBe(true);
    const nothing = receivesWith(() => false);
    expect([...nothing].sort()).toEqual(['hello', 'resync']);

    const { socket, connection } = connectionWith(noAudit);
    connection.greet('hello', '{"type":"hello"}');
    connection.deliver('audit.appended', '{"type":"audit.appended"}');
    connection.deliver('device.banned', '{"type":"device.banned"}');
    expect(socket.sent).toEqual(['{"type":"hello"}', '{"type":"device.banned"}']);
  });

  it('sends nothing before the hello', () => {
    const { socket, connection } = connectionWith(receivesWith(() => true));
    connection.deliver('device.banned', 'early');
    connection.greet('hello', 'hello');
    connection.deliver('device.banned', 'late');
    expect(socket.sent).toEqual(['hello', 'late']);
  });

  it('drops a client whose queue would pass the limit (1013) and sends it nothing more', () => {
    const { socket, connection, drops } = connectionWith(
      receivesWith(() => true),
      100,
    );
    connection.greet('hello', 'h');
    socket.bufferedAmount = 95;
    connection.deliver('device.online', 'x'.repeat(10));
    expect(socket.closedWith?.code).toBe(LIVE_CLOSE.tooSlow);
    expect(drops).toEqual(['too_slow']);
    connection.deliver('device.online', 'y');
    expect(socket.sent).toEqual(['h']);
    // A close the peer never completes is cut at the second heartbeat tick after it began.
    expect(connection.heartbeat()).toBe(false);
    expect(socket.terminated).toBe(false);
    connection.heartbeat();
    expect(socket.terminated).toBe(true);
  });

  it('terminates a connection that answered none of the last two pings', () => {
    const { socket, connection, drops } = connectionWith(receivesWith(() => true));
    expect(connection.heartbeat()).toBe(true);
    socket.emit('pong');
    expect(connection.heartbeat()).toBe(true);
    expect(connection.heartbeat()).toBe(true);
    expect(socket.terminated).toBe(false);
    expect(connection.heartbeat()).toBe(false);
    expect(socket.terminated).toBe(true);
    expect(socket.pings).toBe(3);
    expect(drops).toEqual(['no_pong']);
  });
});

describe('live stream: presence diff', () => {
  it('names who came online and who went offline', () => {
    expect(diffPresence(new Set(['a', 'b']), new Set(['b', 'c']))).toEqual({ online: ['c'], offline: ['a'] });
    expect(diffPresence(new Set(), new Set())).toEqual({ online: [], offline: [] });
  });
});

describe('live stream: session cookie', () => {
  it('finds __Host-sb_session among other cookies and refuses what is not one of our tokens', () => {
    expect(sessionCookieOf('a=1; __Host-sb_session=abc_DEF-123; b=2')).toBe('abc_DEF-123');
    expect(sessionCookieOf('__Host-sb_csrf=x')).toBeUndefined();
    expect(sessionCookieOf(undefined)).toBeUndefined();
    expect(sessionCookieOf('__Host-sb_session=')).toBeUndefined();
    expect(sessionCookieOf('__Host-sb_session=a%20b')).toBeUndefined();
    expect(sessionCookieOf(`__Host-sb_session=${'a'.repeat(300)}`)).toBeUndefined();
  });
});

describe('live stream: Origin', () => {
  const policy = (config: Partial<ApiConfig>) =>
    new LiveOriginPolicy({ LIVE_ORIGINS: [], ...config } as unknown as ApiConfig);

  it('with PUBLIC_URL: only its origin and LIVE_ORIGINS', () => {
    const origins = policy({
      PUBLIC_URL: 'https://sb.example.com',
      LIVE_ORIGINS: ['http://localhost:5173'],
    });
    expect(origins.allows({ origin: 'https://sb.example.com', host: 'internal:21114' })).toBe(true);
    expect(origins.allows({ origin: 'https://SB.example.com:443', host: 'x' })).toBe(true);
    expect(origins.allows({ origin: 'http://localhost:5173', host: 'x' })).toBe(true);
    expect(origins.allows({ origin: 'https://sb.example.com.evil.net', host: 'x' })).toBe(false);
    expect(origins.allows({ origin: 'http://sb.example.com', host: 'x' })).toBe(false);
    expect(origins.allows({ host: 'x' })).toBe(false);
  });

  it('without PUBLIC_URL: a loopback origin naming the request Host, nothing else', () => {
    const origins = policy({});
    expect(origins.allows({ origin: 'http://localhost:21114', host: 'localhost:21114' })).toBe(true);
    expect(origins.allows({ origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000' })).toBe(true);
    expect(origins.allows({ origin: 'http://localhost:3000', host: 'localhost:21114' })).toBe(false);
    // A rebound name with a matching Host is still not loopback.
    expect(origins.allows({ origin: 'http://evil.test:21114', host: 'evil.test:21114' })).toBe(false);
    expect(origins.allows({ origin: 'null', host: 'localhost' })).toBe(false);
    expect(origins.allows({ origin: 'file://', host: 'localhost' })).toBe(false);
    expect(origins.allows({ origin: 'not a url', host: 'localhost' })).toBe(false);
  });
});
