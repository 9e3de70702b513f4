import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import nacl from 'tweetnacl';
import { WebSocket } from 'ws';

import { parsePublicKeyFile, verifySignedIdPk } from '@switchboard/crypto';
import {
  decodeAddrMangle,
  decodeRendezvous,
  encodeFrame,
  encodeFrameHeader,
  encodeRendezvous,
  NatType,
  type PunchHoleRequest,
  PunchHoleResponse_Failure,
  RegisterPkResponse_Result,
  type RendezvousPayload,
} from '@switchboard/protocol';
import { TrustedProxies, WebSocketDuplex } from '@switchboard/transport';

import { KeyStore, loadServerKey } from './key-store';
import { type SignalAddresses, SignalServer } from './server';
import { CoreHarness, ManualClock, peerIdentity, RELAY, silentLogger } from './test/core-harness';
import { FramedClient } from './test/rendezvous-client';

// The rendezvous core behind the real listeners, driven over real UDP, TCP and WebSocket sockets on
// loopback. Peers use distinct loopback addresses (127.0.0.2, .3, …) so that A and B have different
// public IPs, as they would on the internet.

class UdpPeer {
  private readonly inbox: RendezvousPayload[] = [];
  private wake: (() => void) | undefined;

  private constructor(
    readonly socket: UdpSocket,
    private readonly serverPort: number,
  ) {
    socket.on('message', (bytes) => {
      const decoded = decodeRendezvous(bytes);
      if (decoded.ok) this.inbox.push(decoded.payload);
      this.wake?.();
    });
  }

  static async bind(address: string, serverPort: number): Promise<UdpPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    return new UdpPeer(socket, serverPort);
  }

  get port(): number {
    return this.socket.address().port;
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes, this.serverPort, '127.0.0.1');
  }

  send(message: RendezvousPayload): void {
    this.sendRaw(encodeRendezvous(message));
  }

  async next(timeoutMs = 2_000): Promise<RendezvousPayload | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.inbox.shift();
  }

  async register(id: string, seed: number): Promise<void> {
    const { uuid, pk } = peerIdentity(seed);
    this.send({ $case: 'registerPk', value: { id, uuid, pk, oldId: '', noRegisterDevice: false } });
    expect(await this.next()).toEqual({
      $case: 'registerPkResponse',
      value: { result: RegisterPkResponse_Result.OK, keepAlive: 0 },
    });
    this.send({ $case: 'registerPeer', value: { id, serial: 0 } });
    expect(await this.next()).toEqual({ $case: 'registerPeerResponse', value: { requestPk: false } });
  }

  close(): void {
    this.socket.close();
  }
}

async function tcp(port: number, localAddress = '127.0.0.1'): Promise<FramedClient & { socket: Socket }> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  await once(socket, 'connect');
  return Object.assign(new FramedClient(socket), { socket });
}

async function ws(port: number, path = '/'): Promise<FramedClient> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  await once(socket, 'open');
  return new FramedClient(new WebSocketDuplex(socket));
}

function punchRequest(id: string, licenceKey: string, natType = NatType.ASYMMETRIC): PunchHoleRequest {
  return {
    id,
    natType,
    licenceKey,
    connType: 0,
    token: '',
    version: '1.4.0',
    udpPort: 0,
    forceRelay: false,
    upnpPort: 0,
    socketAddrV6: Buffer.alloc(0),
    switchCode: '',
  };
}

describe('rendezvous over real sockets', () => {
  let keyDir: string;
  let publicKey: Uint8Array;
  let clock: ManualClock;
  let harness: CoreHarness;
  let server: SignalServer;
  let ports: SignalAddresses;
  const cleanup: (() => void)[] = [];

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'signal-rendezvous-'));
  });
  afterAll(() => rm(keyDir, { recursive: true, force: true }));

  beforeEach(async () => {
    clock = new ManualClock(Date.now());
    const serverKey = await loadServerKey('-', new KeyStore(keyDir, silentLogger));
    // What an admin pastes into clients: the .pub file, checked here as a client checks it.
    publicKey = parsePublicKeyFile(await readFile(join(keyDir, 'id_ed25519.pub'), 'utf8'));
    harness = new CoreHarness({
      clock,
      key: serverKey,
      limits: { messageTimeoutMs: 1_500, sweepIntervalMs: 25, linkPingIntervalMs: 50 },
    });
    server = new SignalServer(harness.core, {
      ports: { host: '127.0.0.1', port: 0, natTestPort: 0, wsPort: 0 },
      trustedProxies: new TrustedProxies([]),
      logger: silentLogger,
    });
    ports = await server.start();
  });
  afterEach(async () => {
    for (const close of cleanup.splice(0)) close();
    await server.close();
  });

  async function udpPeer(address: string): Promise<UdpPeer> {
    const peer = await UdpPeer.bind(address, ports.udp.port);
    cleanup.push(() => peer.close());
    return peer;
  }

  async function tcpClient(port: number, localAddress?: string) {
    const client = await tcp(port, localAddress);
    cleanup.push(() => client.destroy());
    return client;
  }

  it('registers over UDP, then reports online states on 21115 for n = 1, 8 and 9', async () => {
    const ids = Array.from({ length: 9 }, (_, i) => `12345678${i}`);
    for (const [i, id] of ids.entries())
      if (i % 3 === 0) await (await udpPeer(`127.0.0.${i + 2}`)).register(id, i);
    const states = async (peers: string[]) => {
      const client = await tcpClient(ports.natTest.port);
      client.send({ $case: 'onlineRequest', value: { id: 'asker', peers } });
      const { states } = await client.expect('onlineResponse');
      await client.closed;
      return states;
    };
    expect(await states(ids.slice(0, 1))).toEqual(Buffer.from([0b1000_0000]));
    expect(await states(ids.slice(0, 8))).toEqual(Buffer.from([0b1001_0010]));
    expect(await states(ids)).toEqual(Buffer.from([0b1001_0010, 0]));
    clock.advance(30_000);
    expect(await states(ids)).toEqual(Buffer.from([0, 0]));
  });

  it('answers the NAT test with the client’s source port on 21116 and on 21115', async () => {
    for (const port of [ports.tcp.port, ports.natTest.port]) {
      const client = await tcpClient(port);
      client.send({ $case: 'testNatRequest', value: { serial: 0 } });
      expect((await client.expect('testNatResponse')).port).toBe(client.socket.localPort);
      await client.closed;
    }
  });

  it('punches to unknown, offline and online peers; B’s PunchHoleSent reaches A with B’s signed key', async () => {
    const b = await udpPeer('127.0.0.2');
    await b.register('123456789', 5);
    const a = await tcpClient(ports.tcp.port, '127.0.0.3');
    await a.secure(publicKey);

    a.send({ $case: 'punchHoleRequest', value: punchRequest('999999999', harness.licence) });
    expect((await a.expect('punchHoleResponse')).failure).toBe(PunchHoleResponse_Failure.ID_NOT_EXIST);
    a.send({ $case: 'punchHoleRequest', value: punchRequest('123456789', 'not the key') });
    expect((await a.expect('punchHoleResponse')).failure).toBe(PunchHoleResponse_Failure.LICENSE_MISMATCH);

    a.send({ $case: 'punchHoleRequest', value: punchRequest('123456789', harness.licence) });
    const punch = await b.next();
    if (punch?.$case !== 'punchHole') throw new Error(`B expected PunchHole, got ${punch?.$case}`);
    expect(decodeAddrMangle(punch.value.socketAddr)).toEqual({
      family: 'IPv4',
      address: '127.0.0.3',
      port: a.socket.localPort,
    });
    expect(punch.value.relayServer).toBe(RELAY);

    const bTcp = await tcpClient(ports.tcp.port, '127.0.0.2');
    bTcp.send({
      $case: 'punchHoleSent',
      value: {
        socketAddr: punch.value.socketAddr,
        id: '123456789',
        relayServer: RELAY,
        natType: NatType.ASYMMETRIC,
        version: '1.4.0',
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
      },
    });
    const answer = await a.expect('punchHoleResponse');
    expect(decodeAddrMangle(answer.socketAddr)).toEqual({
      family: 'IPv4',
      address: '127.0.0.2',
      port: bTcp.socket.localPort,
    });
    expect(verifySignedIdPk(answer.pk, publicKey)).toEqual({ id: '123456789', pk: peerIdentity(5).pk });

    clock.advance(30_000);
    a.send({ $case: 'punchHoleRequest', value: punchRequest('123456789', harness.licence) });
    expect((await a.expect('punchHoleResponse')).failure).toBe(PunchHoleResponse_Failure.OFFLINE);
  });

  it('brokers a relay when B answers the punch with RelayResponse, and refuses relays to offline peers', async () => {
    const b = await udpPeer('127.0.0.4');
    await b.register('223456789', 6);
    const a = await tcpClient(ports.tcp.port, '127.0.0.5');
    await a.expect('keyExchange');
    a.send({
      $case: 'punchHoleRequest',
      value: punchRequest('223456789', harness.licence, NatType.SYMMETRIC),
    });
    const punch = await b.next();
    if (punch?.$case !== 'punchHole') throw new Error('B expected PunchHole');
    expect(punch.value.natType).toBe(NatType.SYMMETRIC);
    const bTcp = await tcpClient(ports.tcp.port, '127.0.0.4');
    bTcp.send({
      $case: 'relayResponse',
      value: {
        socketAddr: punch.value.socketAddr,
        uuid: 'session-uuid',
        relayServer: RELAY,
        union: { $case: 'id', value: '223456789' },
        refuseReason: '',
        version: '1.4.0',
        feedback: 0,
        socketAddrV6: Buffer.alloc(0),
        upnpPort: 0,
      },
    });
    const relay = await a.expect('relayResponse');
    expect(relay.uuid).toBe('session-uuid');
    if (relay.union?.$case !== 'pk') throw new Error('A got no signed pk');
    expect(verifySignedIdPk(relay.union.value, publicKey)?.id).toBe('223456789');
    expect(harness.tickets.issued).toEqual([
      {
        uuid: 'session-uuid',
        peers: ['223456789'],
        relay: RELAY,
        requesterIp: '127.0.0.5',
        answererIp: '127.0.0.4',
      },
    ]);

    clock.advance(30_000);
    const late = await tcpClient(ports.tcp.port, '127.0.0.5');
    late.send({
      $case: 'requestRelay',
      value: {
        id: '223456789',
        uuid: 'late-uuid',
        socketAddr: Buffer.alloc(0),
        relayServer: RELAY,
        secure: false,
        licenceKey: '',
        connType: 0,
        token: '',
        switchCode: '',
      },
    });
    expect((await late.expect('relayResponse')).refuseReason).toBe('Remote desktop is offline');
    expect(harness.tickets.issued).toHaveLength(1);
  });

  it('changes an id over TCP: OK, then ID_EXISTS and invalid ids refused', async () => {
    const b = await udpPeer('127.0.0.6');
    await b.register('323456789', 7);
    await (await udpPeer('127.0.0.7')).register('423456789', 8);
    const change = async (oldId: string, id: string) => {
      const client = await tcpClient(ports.tcp.port, '127.0.0.6');
      client.send({
        $case: 'registerPk',
        value: { id, oldId, uuid: peerIdentity(7).uuid, pk: Buffer.alloc(0), noRegisterDevice: false },
      });
      const { result } = await client.expect('registerPkResponse');
      await client.closed;
      return result;
    };
    expect(await change('323456789', 'my-office')).toBe(RegisterPkResponse_Result.OK);
    expect(harness.writer.idChanges).toEqual([{ oldId: '323456789', newId: 'my-office' }]);
    harness.core.renamePeer('423456789', 'taken-one');
    expect(await change('my-office', 'taken-one')).toBe(RegisterPkResponse_Result.ID_EXISTS);
    expect(await change('my-office', '9starts-with-digit')).toBe(RegisterPkResponse_Result.INVALID_ID_FORMAT);
    // The renamed device keeps heartbeating under its new id.
    b.send({ $case: 'registerPeer', value: { id: 'my-office', serial: 0 } });
    expect(await b.next()).toEqual({ $case: 'registerPeerResponse', value: { requestPk: false } });
  });

  it('secures TCP: the 96-byte signed key verifies against the .pub, then request and answer are sealed', async () => {
    const client = await tcpClient(ports.tcp.port);
    const first = await client.nextFrame();
    const offer = decodeRendezvous(first);
    if (!offer.ok || offer.payload.$case !== 'keyExchange') throw new Error('no KeyExchange first');
    const [signed] = offer.payload.value.keys;
    expect(signed).toHaveLength(96);
    expect(nacl.sign.open(signed!, publicKey)).toHaveLength(32);

    // A second connection secured as the client does it. The answer opens under the session key and
    // the server opened our sealed request: a plaintext frame would have failed either way.
    const secured = await tcpClient(ports.tcp.port);
    await secured.secure(publicKey);
    secured.send({ $case: 'testNatRequest', value: { serial: 0 } });
    expect((await secured.expect('testNatResponse')).port).toBe(secured.socket.localPort);
    await secured.closed;
  });

  it('registers over a TCP link with keep-alive and pushes a PunchHole down it, encrypted', async () => {
    const link = await tcpClient(ports.tcp.port, '127.0.0.8');
    await link.secure(publicKey);
    const { uuid, pk } = peerIdentity(9);
    link.send({
      $case: 'registerPk',
      value: { id: '523456789', uuid, pk, oldId: '', noRegisterDevice: false },
    });
    expect(await link.expect('registerPkResponse')).toEqual({
      result: RegisterPkResponse_Result.OK,
      keepAlive: 60,
    });

    // Pings arrive in the clear (empty frames are never sealed) and are echoed, as the client does.
    for (let i = 0; i < 12; i++) {
      clock.advance(50);
      expect(await link.nextFrame(1_000)).toHaveLength(0);
      link.sendHeartbeat();
    }
    clock.advance(3_600_000);

    const a = await tcpClient(ports.tcp.port, '127.0.0.9');
    a.send({ $case: 'punchHoleRequest', value: punchRequest('523456789', harness.licence) });
    const punch = await link.expect('punchHole');
    expect(decodeAddrMangle(punch.socketAddr)?.address).toBe('127.0.0.9');
  });

  it('registers over WebSocket and answers online queries there', async () => {
    const link = await ws(ports.ws.port, '/ws/id');
    const { uuid, pk } = peerIdentity(10);
    link.send({
      $case: 'registerPk',
      value: { id: '623456789', uuid, pk, oldId: '', noRegisterDevice: false },
    });
    expect((await link.expect('registerPkResponse')).result).toBe(RegisterPkResponse_Result.OK);
    const asker = await ws(ports.ws.port);
    asker.send({ $case: 'onlineRequest', value: { id: 'asker', peers: ['nobody', '623456789'] } });
    expect((await asker.expect('onlineResponse')).states).toEqual(Buffer.from([0b0100_0000]));
    link.destroy();
  });

  it('survives bad input: garbage datagrams, huge length prefixes, garbage frames, silent connections', async () => {
    const noisy = await udpPeer('127.0.0.10');
    noisy.sendRaw(Buffer.from('definitely not protobuf'));
    noisy.sendRaw(Buffer.alloc(0));
    expect(await noisy.next(200)).toBeUndefined();

    const huge = await tcpClient(ports.tcp.port);
    huge.sendRaw(encodeFrameHeader(0x3fffffff));
    await huge.closed;
    const garbage = await tcpClient(ports.natTest.port);
    garbage.sendRaw(encodeFrame(Buffer.from('garbage!')));
    await garbage.closed;
    const silent = await tcpClient(ports.natTest.port);
    const started = Date.now();
    await silent.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);

    // Still serving.
    await (await udpPeer('127.0.0.11')).register('723456789', 11);
    expect(await harness.metric('switchboard_signal_frame_errors_total', { transport: 'udp' })).toBe(2);
    expect(
      await harness.metric('switchboard_signal_frame_errors_total', { transport: 'tcp', kind: 'too-large' }),
    ).toBe(1);
    expect(
      await harness.metric('switchboard_signal_frame_errors_total', {
        transport: 'nat-test',
        kind: 'malformed',
      }),
    ).toBe(1);
  });

  it('renames a device only from its registered address, and audits it (issue 10 item 7)', async () => {
    const device = await udpPeer('127.0.0.12');
    await device.register('823456789', 12);
    const { uuid } = peerIdentity(12);
    const changeId = async (localAddress: string, id: string) => {
      // check_id: a fresh, unsecured TCP connection carrying {old_id, id, uuid}.
      const client = await tcpClient(ports.tcp.port, localAddress);
      client.send({
        $case: 'registerPk',
        value: { id, oldId: '823456789', uuid, pk: Buffer.alloc(0), noRegisterDevice: false },
      });
      return (await client.expect('registerPkResponse')).result;
    };
    // Someone who saw the uuid go by in clear, on another address.
    expect(await changeId('127.0.0.13', 'hijacked-pc')).toBe(RegisterPkResponse_Result.UUID_MISMATCH);
    expect(harness.core.peers.has('823456789')).toBe(true);
    expect(await changeId('127.0.0.12', 'renamed-pc')).toBe(RegisterPkResponse_Result.OK);
    expect(harness.core.peers.has('renamed-pc')).toBe(true);
    expect(harness.audit.facts).toContainEqual({
      action: 'device.id_changed',
      deviceId: '823456789',
      newId: 'renamed-pc',
      ip: '127.0.0.12',
    });
  });
});
