import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';

import { NatType, RegisterPkResponse_Result } from '@switchboard/protocol';
import { metric } from '@switchboard/test-net';
import { type LinkTls, RustDeskPeer, type RustDeskPeerOptions } from '@switchboard/testing';
import { type ListenerTlsMode, ThrowawayCa } from '@switchboard/tls';

import { RELAY } from './test/core-harness';
import { startTlsSignal, type TlsSignal } from './test/tls-fixture';

// The reference RustDesk peer's flows through 21116, 21115 and 21118 with TLS on the listeners:
// dual mode serves stock (plain) clients and TLS clients on the same ports, on mode TLS only.
// UDP registration stays plain in every mode.

jest.setTimeout(30_000);

describe('signal listeners with TLS', () => {
  let keyDir: string;
  let ca: ThrowawayCa;
  let signal: TlsSignal | undefined;
  const peers: RustDeskPeer[] = [];

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'signal-tls-'));
    ca = await ThrowawayCa.create();
  });
  afterAll(async () => {
    await ca.dispose();
    await rm(keyDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
    await signal?.close();
    signal = undefined;
  });

  async function start(tcpMode: ListenerTlsMode, wsMode: ListenerTlsMode = tcpMode): Promise<TlsSignal> {
    signal = await startTlsSignal({ tcpMode, wsMode, keyDir, ca });
    return signal;
  }

  function peer(
    running: TlsSignal,
    id: string,
    localAddress: string,
    options: Partial<RustDeskPeerOptions> = {},
  ): RustDeskPeer {
    const created = new RustDeskPeer({
      id,
      server: { host: '127.0.0.1', port: running.port },
      key: running.key,
      localAddress,
      timeoutMs: 5_000,
      ...options,
    });
    peers.push(created);
    return created;
  }

  /** Every flow the client runs against hbbs, over TCP 21116, NAT test 21115 and WebSocket 21118. */
  async function runClientFlows(running: TlsSignal, tls: LinkTls | undefined, base: number): Promise<void> {
    const address = (n: number) => `127.0.${base}.${n}`;
    const b = peer(running, `2000${base}001`, address(1), { transport: 'tcp', tls });
    expect(await b.register()).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
    const a = peer(running, `2000${base}002`, address(2), { tls });
    // A logged-in client (a token) secures the connection first: it waits for the server to speak.
    const punched = await a.punchHole(b.id, { token: 'logged-in' });
    if (punched.kind !== 'punched') throw new Error(`expected punched, got ${punched.kind}`);
    expect(punched.secureTcp).toBe('secured');
    expect(punched.peerKey?.id).toBe(b.id);
    expect((await b.nextPush()).push).toMatchObject({ kind: 'punch-hole', via: 'tcp' });

    const relayed = await a.requestRelay(b.id, { relayServer: RELAY, attempts: 1 });
    expect(relayed.kind).toBe('accepted');
    expect((await b.nextPush()).push.kind).toBe('request-relay');

    expect((await a.testNat()).natType).toBe(NatType.ASYMMETRIC);
    expect(await a.queryOnline([b.id, '299999999'])).toEqual([true, false]);

    const w = peer(running, `2000${base}003`, address(3), { transport: 'ws', tls });
    expect(await w.register()).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
    const toWs = await a.punchHole(w.id);
    if (toWs.kind !== 'relay') throw new Error(`expected relay, got ${toWs.kind}`);
    expect(toWs.peerKey?.id).toBe(w.id);
  }

  it('dual mode: stock clients and TLS clients run every flow on the same ports', async () => {
    const running = await start('dual');
    await runClientFlows(running, undefined, 1);
    await runClientFlows(running, { ca: ca.certPem }, 2);
    const { registry } = running.harness;
    for (const listener of ['tcp', 'nat-test', 'ws']) {
      expect(
        await metric(registry, 'switchboard_tls_listener_connections_total', { listener, protocol: 'plain' }),
      ).toBeGreaterThan(0);
      expect(
        await metric(registry, 'switchboard_tls_listener_connections_total', { listener, protocol: 'tls' }),
      ).toBeGreaterThan(0);
    }
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'failed' })).toBe(0);
    expect(await metric(registry, 'switchboard_tls_handshakes_total', { result: 'timeout' })).toBe(0);
  });

  it('on mode: TLS clients run every flow, a plain client is refused on each port', async () => {
    const running = await start('on');
    await runClientFlows(running, { ca: ca.certPem }, 3);
    const plain = peer(running, '200003009', '127.0.3.9', { timeoutMs: 1_000 });
    await expect(plain.queryOnline(['200003001'])).rejects.toThrow();
    await expect(plain.punchHole('200003001')).rejects.toThrow();
    const ws = peer(running, '200003010', '127.0.3.10', { transport: 'ws', timeoutMs: 1_000 });
    expect(await ws.register({ timeoutMs: 1_000 }).catch(() => ({ answered: false }))).toMatchObject({
      answered: false,
    });
    expect(
      await metric(running.harness.registry, 'switchboard_tls_handshakes_total', { result: 'failed' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await metric(running.harness.registry, 'switchboard_tls_listener_connections_total', {
        protocol: 'plain',
      }),
    ).toBe(0);
  });

  it('on for TCP and off for WebSocket: each port keeps its own mode', async () => {
    const running = await start('on', 'off');
    const w = peer(running, '200004001', '127.0.4.1', { transport: 'ws' });
    expect(await w.register()).toMatchObject({ answered: true, result: RegisterPkResponse_Result.OK });
    const a = peer(running, '200004002', '127.0.4.2', { tls: { ca: ca.certPem } });
    expect(await a.queryOnline([w.id])).toEqual([true]);
  });

  it('off mode: the plain path, with no TLS spoken and nothing counted', async () => {
    const running = await start('off');
    await runClientFlows(running, undefined, 5);
    const tls = connectTls({ host: '127.0.0.1', port: running.port, ca: ca.certPem });
    const failed = new Promise<Error>((resolve) => tls.once('error', resolve));
    expect((await failed).message).toMatch(/wrong version number|packet length too long/);
    expect(tls.authorized).toBe(false);
    expect(await metric(running.harness.registry, 'switchboard_tls_handshakes_total')).toBe(0);
    expect(await metric(running.harness.registry, 'switchboard_tls_listener_connections_total')).toBe(0);
    // The plain listener answers at once: nothing waits for a first byte.
    const socket = createConnection({ host: '127.0.0.1', port: running.port });
    const [first] = (await once(socket, 'data')) as [Buffer];
    expect(first.length).toBeGreaterThan(0);
    socket.destroy();
  });
});
