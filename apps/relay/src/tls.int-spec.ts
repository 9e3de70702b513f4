import { randomUUID, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { connect as connectTls, type TLSSocket } from 'node:tls';

import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { encodeFrame, encodeRendezvous, RequestRelay } from '@switchboard/protocol';
import { metric, waitFor } from '@switchboard/test-net';
import {
  type ListenerTlsMode,
  type ServerCertificateFiles,
  ThrowawayCa,
  TlsCredentials,
  TlsListenerMetrics,
} from '@switchboard/tls';

import { RelayCore } from './relay-core';
import { RelayServer } from './server';
import { BulkPeer, type BulkTransport } from './test/bulk-peer';

// TLS on the relay's two ports (RELAY_TLS, RELAY_WS_TLS), over real sockets with a throwaway CA:
// every mix of plain and TLS ends pairs in dual mode, on mode refuses plain, hostile handshakes are
// closed and counted, and a certificate reload reaches new clients without touching live sessions.

const logger = createLogger({ name: 'relay-tls-test', level: 'silent' });
const KiB = 1024;
const MiB = 1024 * KiB;
const UNLIMITED = { totalMbps: 1_000_000, singleMbps: 1_000_000, limitSpeedMbps: 1_000_000 };

function requestRelay(uuid: string): Buffer {
  return encodeRendezvous({ $case: 'requestRelay', value: RequestRelay.fromPartial({ uuid }) });
}

/** Resolves once the socket has closed (whatever it received is ignored). */
function closed(socket: Socket): Promise<void> {
  socket.on('error', () => undefined);
  socket.resume();
  return once(socket, 'close').then(() => undefined);
}

async function tcpClient(port: number, localAddress?: string): Promise<Socket> {
  const socket = createConnection({ host: '127.0.0.1', port, localAddress });
  await once(socket, 'connect');
  return socket;
}

function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** The certificate a new TLS client is served on `port`. */
async function servedFingerprint(ca: string, port: number): Promise<string> {
  const socket = connectTls({ host: '127.0.0.1', port, ca });
  await once(socket, 'secureConnect');
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

describe('relay listeners with TLS (real sockets, throwaway CA)', () => {
  let ca: ThrowawayCa;
  let pair: ServerCertificateFiles;
  let registry: Registry;
  let core: RelayCore;
  let server: RelayServer;
  let credentials: TlsCredentials;
  const peers: BulkPeer[] = [];

  beforeAll(async () => {
    ca = await ThrowawayCa.create();
    pair = await ca.issueServer();
  });
  afterAll(() => ca.dispose());

  async function start(
    modes: { tcp: ListenerTlsMode; ws: ListenerTlsMode },
    options: {
      files?: { certFile: string; keyFile: string };
      handshakeTimeoutMs?: number;
      firstFrameTimeoutMs?: number;
      maxConnectionsPerIp?: number;
    } = {},
  ): Promise<{ tcp: number; ws: number }> {
    registry = createMetricsRegistry({ defaultMetrics: false });
    const firstFrameTimeoutMs = options.firstFrameTimeoutMs ?? 5_000;
    core = new RelayCore({
      logger,
      registry,
      strict: false,
      limits: { firstFrameTimeoutMs, maxConnectionsPerIp: options.maxConnectionsPerIp ?? 256 },
      bandwidth: UNLIMITED,
    });
    credentials = await TlsCredentials.load({
      files: options.files ?? pair,
      logger,
      registry,
      reloadIntervalMs: 0,
    });
    server = new RelayServer(core, {
      ports: { host: '127.0.0.1', port: 0, wsPort: 0 },
      logger,
      tls: {
        tcpMode: modes.tcp,
        wsMode: modes.ws,
        credentials,
        metrics: new TlsListenerMetrics(registry),
        firstByteTimeoutMs: firstFrameTimeoutMs,
        handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
        maxPendingHandshakes: 64,
      },
    });
    const { tcp, ws } = await server.start();
    return { tcp: tcp.port, ws: ws.port };
  }

  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.close();
    await server.close(0);
  });

  async function joinPeer(
    ports: { tcp: number; ws: number },
    transport: BulkTransport,
    uuid: string,
    tls: boolean,
  ): Promise<BulkPeer> {
    const peer = await BulkPeer.join({
      transport,
      port: transport === 'tcp' ? ports.tcp : ports.ws,
      uuid,
      tls: tls ? { ca: ca.certPem } : undefined,
    });
    peers.push(peer);
    return peer;
  }

  /**
   * Bytes both ways through a session; resolves once they arrived, checked against what was sent
   * (on a session's first transfer: a peer's digest covers all it ever received).
   */
  async function relayBothWays(a: BulkPeer, b: BulkPeer, bytes: number): Promise<void> {
    const before = { a: a.received, b: b.received };
    const [toB, toA] = await Promise.all([a.send(bytes), b.send(bytes)]);
    const [atB, atA] = [await b.receive(before.b + bytes), await a.receive(before.a + bytes)];
    if (before.a === 0 && before.b === 0) {
      expect(atB).toBe(toB);
      expect(atA).toBe(toA);
    }
    expect([a.received, b.received]).toEqual([before.a + bytes, before.b + bytes]);
  }

  it('dual mode: pairs plain↔plain, TLS↔TLS and TLS↔plain on TCP, WebSocket and across them', async () => {
    const ports = await start({ tcp: 'dual', ws: 'dual' });
    const transports: [BulkTransport, BulkTransport][] = [
      ['tcp', 'tcp'],
      ['ws', 'ws'],
      ['tcp', 'ws'],
      ['ws', 'tcp'],
    ];
    const security: [boolean, boolean][] = [
      [false, false],
      [true, true],
      [true, false],
    ];
    let sessions = 0;
    for (const [first, second] of transports) {
      for (const [firstTls, secondTls] of security) {
        const uuid = randomUUID();
        const a = await joinPeer(ports, first, uuid, firstTls);
        const b = await joinPeer(ports, second, uuid, secondTls);
        await relayBothWays(a, b, 256 * KiB);
        sessions += 1;
      }
    }
    expect(await metric(registry, 'switchboard_relay_pairs_total')).toBe(sessions);
    // Of the 24 ends, 12 TLS and 12 plain, half of each on either listener.
    for (const listener of ['tcp', 'ws']) {
      expect(
        await metric(registry, 'switchboard_tls_listener_connections_total', { listener, protocol: 'tls' }),
      ).toBe(6);
      expect(
        await metric(registry, 'switchboard_tls_listener_connections_total', { listener, protocol: 'plain' }),
      ).toBe(6);
    }
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'failed' })).toBe(0);
  });

  it('carries a multi-MB transfer both ways over TLS intact, and TLS→plain the same', async () => {
    const ports = await start({ tcp: 'dual', ws: 'dual' });
    const uuid = randomUUID();
    const a = await joinPeer(ports, 'tcp', uuid, true);
    const b = await joinPeer(ports, 'tcp', uuid, true);
    await relayBothWays(a, b, 24 * MiB);
    const mixed = randomUUID();
    const c = await joinPeer(ports, 'tcp', mixed, true);
    const d = await joinPeer(ports, 'tcp', mixed, false);
    await relayBothWays(c, d, 8 * MiB);
  }, 60_000);

  it('on mode: TLS clients pair on both ports, a plain client is closed and counted', async () => {
    const ports = await start({ tcp: 'on', ws: 'on' }, { handshakeTimeoutMs: 500 });
    const uuid = randomUUID();
    const a = await joinPeer(ports, 'tcp', uuid, true);
    const b = await joinPeer(ports, 'ws', uuid, true);
    await relayBothWays(a, b, 64 * KiB);

    const plain = await tcpClient(ports.tcp);
    plain.write(encodeFrame(requestRelay(randomUUID())));
    await closed(plain);
    const plainWs = BulkPeer.join({ transport: 'ws', port: ports.ws, uuid: randomUUID() });
    await expect(plainWs).rejects.toThrow();
    // OpenSSL reads a stock client's first byte (≥ 0x80) as an SSLv2 record header and waits for the
    // length it names: that one ends at the handshake timeout; the HTTP upgrade fails at once.
    await waitFor(
      async () => (await metric(registry, 'switchboard_tls_handshakes_total', { result: 'timeout' })) === 1,
    );
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'failed' })).toBe(1);
    expect(await metric(registry, 'switchboard_tls_listener_connections_total', { protocol: 'plain' })).toBe(
      0,
    );
  });

  it('without TLS options both ports stay plain: a ClientHello is just a bad first frame', async () => {
    registry = createMetricsRegistry({ defaultMetrics: false });
    core = new RelayCore({ logger, registry, strict: false, limits: { firstFrameTimeoutMs: 2_000 } });
    server = new RelayServer(core, { ports: { host: '127.0.0.1', port: 0, wsPort: 0 }, logger });
    const { tcp, ws } = await server.start();
    const ports = { tcp: tcp.port, ws: ws.port };
    const tlsClient = connectTls({ host: '127.0.0.1', port: ports.tcp, ca: ca.certPem });
    const [error] = (await once(tlsClient, 'error')) as [Error];
    expect(error.message).toMatch(/socket disconnected|ECONNRESET|wrong version/i);
    const uuid = randomUUID();
    const a = await joinPeer(ports, 'tcp', uuid, false);
    const b = await joinPeer(ports, 'ws', uuid, false);
    await relayBothWays(a, b, 64 * KiB);
  });

  describe('hostile input on a dual port', () => {
    it('garbage after 0x16: closed, counted as a failed handshake, the port keeps serving', async () => {
      const ports = await start({ tcp: 'dual', ws: 'dual' });
      for (const port of [ports.tcp, ports.ws]) {
        const socket = await tcpClient(port);
        socket.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20]), Buffer.alloc(32, 0xee)]));
        await closed(socket);
      }
      expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'failed' })).toBe(2);
      const uuid = randomUUID();
      await relayBothWays(
        await joinPeer(ports, 'tcp', uuid, true),
        await joinPeer(ports, 'ws', uuid, false),
        16 * KiB,
      );
    });

    it('a truncated ClientHello, then silence: closed at the handshake timeout and counted', async () => {
      const ports = await start({ tcp: 'dual', ws: 'dual' }, { handshakeTimeoutMs: 300 });
      // A record header announcing 512 bytes of handshake, and only the first few of them.
      const truncated = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
      const started = Date.now();
      await Promise.all(
        [ports.tcp, ports.ws].map(async (port) => {
          const socket = await tcpClient(port);
          socket.write(truncated);
          await closed(socket);
        }),
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'timeout' })).toBe(2);
      await waitFor(() => core.liveConnections === 0);
    });

    it('a client that sends nothing at all is closed at the first-frame timeout, as with TLS off', async () => {
      const ports = await start({ tcp: 'dual', ws: 'dual' }, { firstFrameTimeoutMs: 300 });
      const silent = await tcpClient(ports.tcp);
      const started = Date.now();
      await closed(silent);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    });

    it('SNI naming a host the certificate does not cover: served anyway, counted', async () => {
      const ports = await start({ tcp: 'dual', ws: 'dual' });
      const socket = connectTls({
        host: '127.0.0.1',
        port: ports.tcp,
        ca: ca.certPem,
        servername: 'unknown.example.net',
        checkServerIdentity: () => undefined,
      });
      await once(socket, 'secureConnect');
      socket.destroy();
      expect(await metric(registry, 'switchboard_tls_unknown_server_names_total', { listener: 'tcp' })).toBe(
        1,
      );
    });

    it('1,000 handshakes from one IP: the per-IP cap closes the excess before any handshake; another client still pairs', async () => {
      const cap = 20;
      const ports = await start(
        { tcp: 'dual', ws: 'dual' },
        { maxConnectionsPerIp: cap, firstFrameTimeoutMs: 20_000 },
      );
      const attackers: TLSSocket[] = [];
      const outcomes: Promise<'open' | 'closed'>[] = [];
      for (let index = 0; index < 1_000; index++) {
        // One source address for all (net.connect's localAddress, passed through by tls.connect).
        const dial = { host: '127.0.0.1', port: ports.tcp, ca: ca.certPem, localAddress: '127.0.0.30' };
        const socket = connectTls(dial);
        socket.on('error', () => undefined);
        attackers.push(socket);
        outcomes.push(
          new Promise((settle) => {
            socket.once('secureConnect', () => settle('open'));
            socket.once('close', () => settle('closed'));
          }),
        );
        // A few hundred in flight at a time, not a thousand dials in one tick.
        if (index % 200 === 199) await Promise.all(outcomes.slice(-200));
      }
      const results = await Promise.all(outcomes);
      expect(results.filter((result) => result === 'open')).toHaveLength(cap);
      expect(await metric(registry, 'switchboard_relay_refusals_total', { reason: 'per-ip-limit' })).toBe(
        1_000 - cap,
      );
      expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'ok' })).toBe(cap);

      const uuid = randomUUID();
      await relayBothWays(
        await joinPeer(ports, 'tcp', uuid, true),
        await joinPeer(ports, 'tcp', uuid, false),
        64 * KiB,
      );
      for (const socket of attackers) socket.destroy();
    }, 60_000);

    it('TLS, then plain frames under it: closed, no crash, others unaffected', async () => {
      // The plain frame reads as the start of a long TLS record: the first-frame timeout ends it.
      const ports = await start({ tcp: 'dual', ws: 'dual' }, { firstFrameTimeoutMs: 500 });
      const uuid = randomUUID();
      const a = await joinPeer(ports, 'tcp', uuid, true);
      const b = await joinPeer(ports, 'ws', uuid, true);

      const raw = await tcpClient(ports.tcp);
      const tunnel = new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, done) {
          raw.write(chunk, done);
        },
      });
      raw.on('data', (chunk: Buffer) => tunnel.push(chunk));
      const secure = connectTls({ socket: tunnel, ca: ca.certPem, servername: 'localhost' });
      secure.on('error', () => undefined);
      await once(secure, 'secureConnect');
      await waitFor(() => core.liveConnections === 3);
      // On the wire beside the TLS records: what a client that forgot its TLS would send.
      raw.write(encodeFrame(requestRelay(randomUUID())));
      await closed(raw);
      await waitFor(() => core.liveConnections === 2);
      await relayBothWays(a, b, 64 * KiB);
    });
  });

  it('drain: TLS sessions keep flowing until they end; new clients are refused', async () => {
    const ports = await start({ tcp: 'dual', ws: 'dual' });
    const uuid = randomUUID();
    const a = await joinPeer(ports, 'tcp', uuid, true);
    const b = await joinPeer(ports, 'ws', uuid, true);
    await relayBothWays(a, b, 16 * KiB);
    // Waiting for its first byte: not a session, cut at once.
    const sniffing = await tcpClient(ports.tcp);
    await waitFor(() => core.liveConnections === 2);
    let finished = false;
    const closing = server.close(10_000).then((result) => {
      finished = true;
      return result;
    });
    await closed(sniffing);
    await expect(tcpClient(ports.tcp)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await relayBothWays(a, b, 256 * KiB);
    expect(finished).toBe(false);
    a.close();
    expect(await closing).toEqual({ cut: 0 });
  });

  describe('certificate reload', () => {
    /** Issues a pair under `name` and returns its files' contents. */
    async function issue(name: string): Promise<{ certPem: string; keyPem: string }> {
      const { certPem, keyPem } = await ca.issueServer({ name });
      return { certPem, keyPem };
    }

    /** Replaces `path` by writing beside it and renaming over it, as cert-manager and editors do. */
    async function renameOver(path: string, content: string, mode = 0o600): Promise<void> {
      await writeFile(`${path}.new`, content, { mode });
      await rename(`${path}.new`, path);
    }

    async function liveSession(ports: { tcp: number; ws: number }): Promise<[BulkPeer, BulkPeer]> {
      const uuid = randomUUID();
      const a = await joinPeer(ports, 'tcp', uuid, true);
      const b = await joinPeer(ports, 'ws', uuid, true);
      await relayBothWays(a, b, 16 * KiB);
      return [a, b];
    }

    it('rename-over: new clients get the new certificate, a live TLS session flows on; a broken pair keeps the old one and raises the alert', async () => {
      const first = await issue('rename-first');
      const files = { certFile: join(ca.dir, 'live.crt'), keyFile: join(ca.dir, 'live.key') };
      await renameOver(files.certFile, first.certPem, 0o644);
      await renameOver(files.keyFile, first.keyPem);
      const ports = await start({ tcp: 'dual', ws: 'dual' }, { files });
      const [a, b] = await liveSession(ports);
      expect(await servedFingerprint(ca.certPem, ports.tcp)).toBe(fingerprintOf(first.certPem));

      const second = await issue('rename-second');
      await renameOver(files.keyFile, second.keyPem);
      await renameOver(files.certFile, second.certPem, 0o644);
      expect(await credentials.checkNow()).toBe('reloaded');
      expect(await servedFingerprint(ca.certPem, ports.tcp)).toBe(fingerprintOf(second.certPem));
      expect(await servedFingerprint(ca.certPem, ports.ws)).toBe(fingerprintOf(second.certPem));
      await relayBothWays(a, b, 256 * KiB);

      // A certificate with another pair's key: not usable, the second pair stays.
      const third = await issue('rename-third');
      await renameOver(files.certFile, third.certPem, 0o644);
      expect(await credentials.checkNow()).toBe('failed');
      expect(await metric(registry, 'switchboard_tls_certificate_reload_failed')).toBe(1);
      expect(await servedFingerprint(ca.certPem, ports.tcp)).toBe(fingerprintOf(second.certPem));
      await relayBothWays(a, b, 64 * KiB);
    });

    it('Kubernetes Secret symlink swap (..data): new clients get the new certificate, a live TLS session flows on', async () => {
      const mount = join(ca.dir, 'secret-mount');
      await mkdir(mount);
      const version = async (name: string, content: { certPem: string; keyPem: string }) => {
        await mkdir(join(mount, name));
        await writeFile(join(mount, name, 'tls.crt'), content.certPem, { mode: 0o644 });
        await writeFile(join(mount, name, 'tls.key'), content.keyPem, { mode: 0o600 });
      };
      const first = await issue('k8s-first');
      await version('..2026_12_03_a', first);
      await symlink('..2026_12_03_a', join(mount, '..data'));
      await symlink('..data/tls.crt', join(mount, 'tls.crt'));
      await symlink('..data/tls.key', join(mount, 'tls.key'));
      const files = { certFile: join(mount, 'tls.crt'), keyFile: join(mount, 'tls.key') };
      const ports = await start({ tcp: 'dual', ws: 'dual' }, { files });
      const [a, b] = await liveSession(ports);
      expect(await servedFingerprint(ca.certPem, ports.tcp)).toBe(fingerprintOf(first.certPem));

      // The kubelet's update: a new timestamped folder, then `..data` swapped to it in one rename.
      const second = await issue('k8s-second');
      await version('..2026_12_03_b', second);
      await symlink('..2026_12_03_b', join(mount, '..data_tmp'));
      await rename(join(mount, '..data_tmp'), join(mount, '..data'));
      expect(await credentials.checkNow()).toBe('reloaded');
      expect(await servedFingerprint(ca.certPem, ports.tcp)).toBe(fingerprintOf(second.certPem));
      await relayBothWays(a, b, 256 * KiB);
      expect(await metric(registry, 'switchboard_tls_certificate_reload_failed')).toBe(0);
    });
  });
});
