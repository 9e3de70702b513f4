import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';

import nacl from 'tweetnacl';

import { encodePublicKeyFile, SecureChannel, signIdPk } from '@switchboard/crypto';
import {
  decodeAddrMangle,
  decodeRendezvous,
  encodeAddrMangle,
  encodeRendezvous,
  NatType,
  PunchHole,
  PunchHoleResponse,
  PunchHoleResponse_Failure,
  RegisterPkResponse_Result,
  RequestRelay,
  type RendezvousPayload,
  wallClockMicros,
} from '@switchboard/protocol';
import { waitFor } from '@switchboard/test-net';

import { AsyncQueue } from './async-queue';
import { PeerProtocolError } from './errors';
import { FramedLink } from './framed-link';
import { PairingRelay } from './pairing-relay';
import { decodeOnlineStates, RustDeskPeer, type PushAnswer } from './rustdesk-peer';

// The reference peer against a scripted hbbs on real loopback sockets: what it sends, when, and how
// it answers what hbbs pushes, checked message by message against the client's behaviour.

interface Datagram {
  payload: RendezvousPayload;
  from: RemoteInfo;
}

/** hbbs's sockets, scripted by each test: UDP and TCP on `port`, TCP on `port − 1`. */
class ScriptedHbbs {
  readonly datagrams = new AsyncQueue<Datagram>();
  readonly connections = new AsyncQueue<FramedLink>();
  readonly natConnections = new AsyncQueue<FramedLink>();
  private readonly links: FramedLink[] = [];

  private constructor(
    readonly port: number,
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    private readonly nat: Server,
    /** Called for every accepted connection on `port` before anything else happens on it. */
    public greet: (link: FramedLink) => void = () => undefined,
  ) {
    udp.on('message', (datagram, from) => {
      const decoded = decodeRendezvous(datagram);
      if (decoded.ok) this.datagrams.push({ payload: decoded.payload, from });
    });
    tcp.on('connection', (socket) => {
      const link = FramedLink.fromSocket(socket);
      this.links.push(link);
      this.greet(link);
      this.connections.push(link);
    });
    nat.on('connection', (socket) => {
      const link = FramedLink.fromSocket(socket);
      this.links.push(link);
      this.natConnections.push(link);
    });
  }

  static async start(): Promise<ScriptedHbbs> {
    for (;;) {
      const udp = createSocket('udp4');
      udp.bind(0, '127.0.0.1');
      await once(udp, 'listening');
      const port = udp.address().port;
      const tcp = await listenOn(port);
      const nat = await listenOn(port - 1);
      if (tcp && nat) return new ScriptedHbbs(port, udp, tcp, nat);
      udp.close();
      tcp?.close();
      nat?.close();
    }
  }

  sendUdp(payload: RendezvousPayload, to: RemoteInfo): void {
    this.udp.send(encodeRendezvous(payload), to.port, to.address);
  }

  async nextDatagram(): Promise<Datagram> {
    return this.datagrams.shift(3_000, 'hbbs: datagram');
  }

  async close(): Promise<void> {
    for (const link of this.links) link.close();
    this.udp.close();
    await Promise.all([this.tcp, this.nat].map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

async function listenOn(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('RustDeskPeer against a scripted hbbs', () => {
  let hbbs: ScriptedHbbs;
  const peers: RustDeskPeer[] = [];
  const serverKeys = nacl.sign.keyPair();
  const key = encodePublicKeyFile(serverKeys.publicKey);
  const newPeer = (options: Partial<ConstructorParameters<typeof RustDeskPeer>[0]> = {}): RustDeskPeer => {
    const peer = new RustDeskPeer({
      id: '123456789',
      server: { host: '127.0.0.1', port: hbbs.port },
      key,
      timeoutMs: 3_000,
      ...options,
    });
    peers.push(peer);
    return peer;
  };

  beforeEach(async () => {
    hbbs = await ScriptedHbbs.start();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.stop()));
    await hbbs.close();
  });

  describe('UDP registration', () => {
    it('registers its key first, then heartbeats with RegisterPeer, and re-sends the key on request_pk', async () => {
      const peer = newPeer();
      const registered = peer.register({ intervalMs: 200 });

      const first = await hbbs.nextDatagram();
      expect(first.payload).toEqual({
        $case: 'registerPk',
        value: {
          id: '123456789',
          uuid: peer.uuid,
          pk: Buffer.from(peer.identity.publicKey),
          oldId: '',
          noRegisterDevice: false,
        },
      });
      expect(first.from.address).toBe('127.0.0.1');
      hbbs.sendUdp(
        { $case: 'registerPkResponse', value: { result: RegisterPkResponse_Result.OK, keepAlive: 0 } },
        first.from,
      );
      expect(await registered).toEqual({
        answered: true,
        result: RegisterPkResponse_Result.OK,
        keepAliveSeconds: 0,
      });
      expect(peer.keyConfirmed).toBe(true);

      // Confirmed: heartbeats are RegisterPeer, one per interval, from the same socket.
      const started = Date.now();
      const heartbeat = await hbbs.nextDatagram();
      expect(heartbeat.payload).toEqual({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } });
      expect(heartbeat.from.port).toBe(first.from.port);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      hbbs.sendUdp({ $case: 'registerPeerResponse', value: { requestPk: true } }, heartbeat.from);
      expect((await hbbs.nextDatagram()).payload.$case).toBe('registerPk');
      expect(peer.stats.requestPkReceived).toBe(1);
    });

    it('resends after the register timeout when hbbs stays silent, and stops when told to', async () => {
      const peer = newPeer({ registerTimeoutMs: 150 });
      const outcome = await peer.register({ intervalMs: 10_000, timeoutMs: 400 });
      expect(outcome).toEqual({ answered: false });
      // The first send plus at least one resend in 400 ms at a 150 ms register timeout.
      expect(hbbs.datagrams.size).toBeGreaterThanOrEqual(2);
      peer.stopHeartbeat();
      const sent = peer.stats.registerPkSent;
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(peer.stats.registerPkSent).toBe(sent);
    });

    it('backs off for 30 s after NOT_DEPLOYED', async () => {
      const peer = newPeer({ registerTimeoutMs: 100 });
      const registered = peer.register({ intervalMs: 100 });
      const first = await hbbs.nextDatagram();
      hbbs.sendUdp(
        {
          $case: 'registerPkResponse',
          value: { result: RegisterPkResponse_Result.NOT_DEPLOYED, keepAlive: 0 },
        },
        first.from,
      );
      expect(await registered).toMatchObject({ result: RegisterPkResponse_Result.NOT_DEPLOYED });
      // Like the client, one more RegisterPk starts the 30 s back-off clock, then nothing.
      const sent = peer.stats.registerPkSent;
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(peer.stats.registerPkSent).toBe(sent + 1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(peer.stats.registerPkSent).toBe(sent + 1);
    });

    it('counts UUID_MISMATCH instead of taking a new id, so tests can assert it never happens', async () => {
      const other = newPeer({ id: '555666777', registerTimeoutMs: 100 });
      const answered = other.register({ intervalMs: 100 });
      const request = await hbbs.nextDatagram();
      hbbs.sendUdp(
        {
          $case: 'registerPkResponse',
          value: { result: RegisterPkResponse_Result.UUID_MISMATCH, keepAlive: 0 },
        },
        request.from,
      );
      expect(await answered).toMatchObject({ result: RegisterPkResponse_Result.UUID_MISMATCH });
      expect(other.stats.uuidMismatches).toBe(1);
      expect(other.id).toBe('555666777');
    });
  });

  describe('answering pushes as B', () => {
    async function registeredOverUdp(options: Partial<ConstructorParameters<typeof RustDeskPeer>[0]> = {}) {
      const peer = newPeer(options);
      const registered = peer.register({ intervalMs: 60_000 });
      const first = await hbbs.nextDatagram();
      hbbs.sendUdp(
        { $case: 'registerPkResponse', value: { result: RegisterPkResponse_Result.OK, keepAlive: 0 } },
        first.from,
      );
      await registered;
      return { peer, address: first.from };
    }
    const aAddress = { address: '127.0.0.2', port: 40_000 };

    it('answers PunchHole with PunchHoleSent on a new TCP connection', async () => {
      const { peer, address } = await registeredOverUdp({ natType: NatType.ASYMMETRIC });
      const socketAddr = encodeAddrMangle(aAddress, wallClockMicros());
      hbbs.sendUdp(
        {
          $case: 'punchHole',
          value: PunchHole.fromPartial({
            socketAddr,
            relayServer: 'relay.example:21117',
            natType: NatType.ASYMMETRIC,
          }),
        },
        address,
      );

      const connection = await hbbs.connections.shift(3_000, 'B connection');
      expect(await connection.nextRendezvous(3_000)).toEqual({
        $case: 'punchHoleSent',
        value: {
          socketAddr,
          id: '123456789',
          relayServer: 'relay.example:21117',
          natType: NatType.ASYMMETRIC,
          version: expect.any(String) as string,
          upnpPort: 0,
          socketAddrV6: Buffer.alloc(0),
        },
      });
      const record = await peer.nextPush();
      expect(record.push).toMatchObject({ kind: 'punch-hole', via: 'udp' });
      const answer = await record.answer;
      expect(answer).toMatchObject({
        kind: 'punch-hole-sent',
        local: { address: '127.0.0.1', port: connection.remote.port },
      });
    });

    it('relays instead when A is symmetric: RelayResponse naming uuid and id, then joins the relay', async () => {
      const relay = await PairingRelay.start();
      try {
        const { peer, address } = await registeredOverUdp();
        const socketAddr = encodeAddrMangle(aAddress, wallClockMicros());
        hbbs.sendUdp(
          {
            $case: 'punchHole',
            value: PunchHole.fromPartial({
              socketAddr,
              relayServer: relay.address,
              natType: NatType.SYMMETRIC,
            }),
          },
          address,
        );
        const connection = await hbbs.connections.shift(3_000, 'B connection');
        const sent = await connection.nextRendezvous(3_000);
        if (sent.$case !== 'relayResponse') throw new Error(`expected RelayResponse, got ${sent.$case}`);
        expect(sent.value).toMatchObject({
          socketAddr,
          relayServer: relay.address,
          union: { $case: 'id', value: '123456789' },
        });
        expect(sent.value.uuid).toMatch(/^[0-9a-f-]{36}$/);

        const joined = await relay.nextRequest(3_000);
        expect(joined.request).toMatchObject({ uuid: sent.value.uuid, licenceKey: key, id: '' });
        const answer = await (await peer.nextPush()).answer;
        expect(answer).toMatchObject({
          kind: 'relay-response',
          relay: { server: relay.address, uuid: sent.value.uuid },
        });
      } finally {
        await relay.close();
      }
    });

    it('answers RequestRelay with a bare RelayResponse and joins with the uuid it was given', async () => {
      const relay = await PairingRelay.start();
      try {
        const { peer, address } = await registeredOverUdp();
        const socketAddr = encodeAddrMangle(aAddress, wallClockMicros());
        hbbs.sendUdp(
          {
            $case: 'requestRelay',
            value: RequestRelay.fromPartial({
              socketAddr,
              uuid: 'given-uuid',
              relayServer: relay.address,
              secure: true,
            }),
          },
          address,
        );
        const connection = await hbbs.connections.shift(3_000, 'B connection');
        const sent = await connection.nextRendezvous(3_000);
        expect(sent).toMatchObject({
          $case: 'relayResponse',
          value: { socketAddr, uuid: '', relayServer: '' },
        });
        if (sent.$case === 'relayResponse') expect(sent.value.union).toBeUndefined();
        expect((await relay.nextRequest(3_000)).request.uuid).toBe('given-uuid');
        expect((await peer.nextPush()).push.kind).toBe('request-relay');
      } finally {
        await relay.close();
      }
    });

    it('answers FetchLocalAddr with LocalAddr carrying the local end of its connection', async () => {
      const { address } = await registeredOverUdp();
      hbbs.sendUdp(
        {
          $case: 'fetchLocalAddr',
          value: {
            socketAddr: encodeAddrMangle(aAddress, 0n),
            relayServer: '',
            socketAddrV6: Buffer.alloc(0),
          },
        },
        address,
      );
      const connection = await hbbs.connections.shift(3_000, 'B connection');
      const sent = await connection.nextRendezvous(3_000);
      if (sent.$case !== 'localAddr') throw new Error(`expected LocalAddr, got ${sent.$case}`);
      expect(decodeAddrMangle(sent.value.localAddr)).toEqual({ family: 'IPv4', ...connection.remote });
      expect(decodeAddrMangle(sent.value.socketAddr)).toEqual({ family: 'IPv4', ...aAddress });
      // No relay named: the client falls back to the rendezvous host, port + 1.
      expect(sent.value.relayServer).toBe(`127.0.0.1:${hbbs.port + 1}`);
      expect(sent.value.id).toBe('123456789');
    });

    it('records but does not answer when answers are off', async () => {
      const { peer, address } = await registeredOverUdp({ answerPushes: false });
      hbbs.sendUdp(
        { $case: 'punchHole', value: PunchHole.fromPartial({ socketAddr: encodeAddrMangle(aAddress, 0n) }) },
        address,
      );
      const record = await peer.nextPush();
      expect(await record.answer).toEqual<PushAnswer>({ kind: 'not-answered', reason: 'answers-off' });
      await expect(hbbs.connections.shift(300, 'B connection')).rejects.toThrow('no answer');
    });
  });

  describe('TCP registration', () => {
    it('secures the link, sends RegisterPk until OK, echoes empty frames and takes pushes on it', async () => {
      const channels: SecureChannel[] = [];
      hbbs.greet = (link) => {
        const channel = new SecureChannel(serverKeys);
        channels.push(channel);
        void link.sendRendezvous({ $case: 'keyExchange', value: { keys: [channel.signedBoxPublicKey] } });
      };
      const peer = newPeer({ transport: 'tcp' });
      const registered = peer.register({ intervalMs: 60_000 });
      const link = await hbbs.connections.shift(3_000, 'registration link');
      const exchange = await link.nextRendezvous(3_000);
      if (exchange.$case !== 'keyExchange') throw new Error('expected the client KeyExchange');
      expect(channels[0]?.acceptClientKeyExchange(exchange.value.keys)).toEqual({ ok: true });
      // From here on, the server side seals and opens through its channel.
      const next = async () => {
        const opened = channels[0]?.open(await link.nextFrame(3_000));
        if (!opened?.ok) throw new Error('server could not open the frame');
        return opened.plain;
      };
      const send = (payload: RendezvousPayload) =>
        link.sendFrame(channels[0]?.seal(encodeRendezvous(payload)) ?? Buffer.alloc(0));

      expect(decodeRendezvous(await next())).toMatchObject({ ok: true, payload: { $case: 'registerPk' } });
      await send({
        $case: 'registerPkResponse',
        value: { result: RegisterPkResponse_Result.OK, keepAlive: 30 },
      });
      expect(await registered).toEqual({
        answered: true,
        result: RegisterPkResponse_Result.OK,
        keepAliveSeconds: 30,
      });

      await link.sendFrame(Buffer.alloc(0));
      expect(await next()).toEqual(Buffer.alloc(0));
      expect(peer.stats.heartbeatsEchoed).toBe(1);

      await send({
        $case: 'punchHole',
        value: PunchHole.fromPartial({
          socketAddr: encodeAddrMangle({ address: '127.0.0.2', port: 1 }, 0n),
          natType: NatType.ASYMMETRIC,
        }),
      });
      const record = await peer.nextPush();
      expect(record.push).toMatchObject({ kind: 'punch-hole', via: 'tcp' });
      const answerLink = await hbbs.connections.shift(3_000, 'answer connection');
      expect(answerLink).not.toBe(link);

      link.close();
      await peer.registrationLink?.closed;
      await waitFor(() => peer.registrationLink === undefined);
    });
  });

  describe('as A', () => {
    it('resends PunchHoleRequest until answered and verifies the signed pk against the Key', async () => {
      const peer = newPeer({ id: '111222333', localAddress: '127.0.0.2' });
      const bKey = nacl.sign.keyPair();
      const outcome = peer.punchHole('987654321', { attemptsMs: [200, 2_000] });
      const link = await hbbs.connections.shift(3_000, 'A connection');
      expect(link.remote.address).toBe('127.0.0.2');
      const first = await link.nextRendezvous(3_000);
      expect(first).toMatchObject({
        $case: 'punchHoleRequest',
        value: { id: '987654321', licenceKey: key, natType: NatType.UNKNOWN_NAT },
      });
      // Ignore the first: the client asks again after its first wait.
      expect((await link.nextRendezvous(3_000)).$case).toBe('punchHoleRequest');
      const bAddress = { address: '127.0.0.1', port: 5_555 };
      await link.sendRendezvous({
        $case: 'punchHoleResponse',
        value: PunchHoleResponse.fromPartial({
          socketAddr: encodeAddrMangle(bAddress, wallClockMicros()),
          pk: signIdPk('987654321', bKey.publicKey, serverKeys),
          union: { $case: 'natType', value: NatType.ASYMMETRIC },
        }),
      });
      expect(await outcome).toMatchObject({
        kind: 'punched',
        address: { family: 'IPv4', ...bAddress },
        isLocal: false,
        peerKey: { id: '987654321', pk: Buffer.from(bKey.publicKey) },
        secureTcp: 'not-asked',
      });
    });

    it('reads a response without socket_addr as the failure it names', async () => {
      const peer = newPeer({ id: '111222333' });
      const outcome = peer.punchHole('000000000');
      const link = await hbbs.connections.shift(3_000, 'A connection');
      await link.nextRendezvous(3_000);
      await link.sendRendezvous({
        $case: 'punchHoleResponse',
        value: PunchHoleResponse.fromPartial({ failure: PunchHoleResponse_Failure.OFFLINE }),
      });
      expect(await outcome).toMatchObject({ kind: 'failure', failure: PunchHoleResponse_Failure.OFFLINE });
    });

    it('decodes the online bitmap and refuses a short one', async () => {
      const peer = newPeer();
      const ids = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9'];
      const online = peer.queryOnline(ids);
      const link = await hbbs.natConnections.shift(3_000, 'online query');
      expect(await link.nextRendezvous(3_000)).toEqual({
        $case: 'onlineRequest',
        value: { id: '123456789', peers: ids },
      });
      await link.sendRendezvous({
        $case: 'onlineResponse',
        value: { states: Buffer.from([0b1000_0001, 0b1000_0000]) },
      });
      expect(await online).toEqual([true, false, false, false, false, false, false, true, true]);
      expect(() => decodeOnlineStates(Buffer.from([0xff]), 9)).toThrow(PeerProtocolError);
    });

    it('tests its NAT from one local port on both hbbs ports', async () => {
      const peer = newPeer();
      const result = peer.testNat();
      const answer = async (connections: AsyncQueue<FramedLink>, lie: number) => {
        const link = await connections.shift(3_000, 'NAT test');
        expect((await link.nextRendezvous(3_000)).$case).toBe('testNatRequest');
        await link.sendRendezvous({ $case: 'testNatResponse', value: { port: link.remote.port + lie } });
        link.close();
        return link.remote.port;
      };
      const [first, second] = await Promise.all([
        answer(hbbs.connections, 0),
        answer(hbbs.natConnections, 0),
      ]);
      expect(second).toBe(first);
      expect(await result).toEqual({ natType: NatType.ASYMMETRIC, ports: [first, first] });

      const lied = peer.testNat();
      await Promise.all([answer(hbbs.connections, 0), answer(hbbs.natConnections, 1)]);
      expect((await lied).natType).toBe(NatType.SYMMETRIC);
      expect(peer.natType).toBe(NatType.SYMMETRIC);
    });

    it('changes its id on OK only', async () => {
      const peer = newPeer();
      const changed = peer.changeId('newname1');
      const link = await hbbs.connections.shift(3_000, 'id change');
      expect(await link.nextRendezvous(3_000)).toMatchObject({
        $case: 'registerPk',
        value: { oldId: '123456789', id: 'newname1', uuid: peer.uuid, pk: Buffer.alloc(0) },
      });
      await link.sendRendezvous({
        $case: 'registerPkResponse',
        value: { result: RegisterPkResponse_Result.ID_EXISTS, keepAlive: 0 },
      });
      expect(await changed).toBe(RegisterPkResponse_Result.ID_EXISTS);
      expect(peer.id).toBe('123456789');
    });
  });
});
