import {
  ConfigUpdate,
  encodeAddrMangle,
  encodeFrame,
  encodeFrameHeader,
  encodeRendezvous,
  FetchLocalAddr,
  HealthCheck,
  HttpProxyRequest,
  HttpProxyResponse,
  KeyExchange,
  LocalAddr,
  OnlineRequest,
  OnlineResponse,
  PeerDiscovery,
  PunchHole,
  PunchHoleRequest,
  PunchHoleResponse,
  PunchHoleSent,
  RegisterPeer,
  RegisterPeerResponse,
  RegisterPk,
  RegisterPkResponse,
  RelayResponse,
  type RendezvousCase,
  type RendezvousPayload,
  RequestRelay,
  SoftwareUpdate,
  TestNatRequest,
  TestNatResponse,
} from '@switchboard/protocol';

// Inputs for fuzzing hbbs-compatible servers: valid RendezvousMessages of every type (docs/protocol.md
// §2) with random field values, byte-level mutations of them (bits, truncation, extension, varints,
// field numbers, lengths), random bytes, and BytesCodec frames with honest and lying headers (§1).
// Everything comes from one seeded generator, so a failing run is replayed from its seed.

/** mulberry32: small, fast and good enough to drive a fuzzer; not for secrets. */
export class FuzzRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  bytes(length: number): Buffer {
    const bytes = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) bytes[i] = this.int(256);
    return bytes;
  }

  /** Mostly short lengths, sometimes long ones: most interesting inputs are small. */
  length(max: number): number {
    const roll = this.next();
    if (roll < 0.6) return this.int(Math.min(max, 16) + 1);
    if (roll < 0.9) return this.int(Math.min(max, 256) + 1);
    return this.int(max + 1);
  }

  text(maxLength: number): string {
    const length = this.length(maxLength);
    const alphabet = this.chance(0.8) ? PRINTABLE : UNUSUAL;
    let text = '';
    for (let i = 0; i < length; i++) text += alphabet[this.int(alphabet.length)];
    return text;
  }

  int32(): number {
    return this.pick([0, 1, -1, 0x7fffffff, -0x80000000, this.int(70000), this.int(2 ** 31) - 2 ** 30]);
  }
}

const PRINTABLE = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:/';
const UNUSUAL = ['\u0000', '\u00ff', 'é', '\u{1f600}', '\ud800', ' ', '%', '*', '\n', '"'].join('');

/** A peer the fuzzer registers and targets consistently, so requests also hit known, online ids. */
export interface FuzzPeer {
  readonly id: string;
  readonly uuid: Buffer;
  readonly pk: Buffer;
}

export function createPeerPool(random: FuzzRandom, size: number): FuzzPeer[] {
  return Array.from({ length: size }, (_, index) => ({
    id: String(800_000_000 + random.int(99_000_000) + index),
    uuid: Buffer.from(random.bytes(18).toString('hex')),
    pk: random.bytes(32),
  }));
}

/** Every variant of RendezvousMessage.union (docs/protocol.md §2), so every one is sent. */
export const RENDEZVOUS_CASES: readonly RendezvousCase[] = [
  'registerPeer',
  'registerPeerResponse',
  'punchHoleRequest',
  'punchHole',
  'punchHoleSent',
  'punchHoleResponse',
  'fetchLocalAddr',
  'localAddr',
  'configureUpdate',
  'registerPk',
  'registerPkResponse',
  'softwareUpdate',
  'requestRelay',
  'relayResponse',
  'testNatRequest',
  'testNatResponse',
  'peerDiscovery',
  'onlineRequest',
  'onlineResponse',
  'keyExchange',
  'hc',
  'httpProxyRequest',
  'httpProxyResponse',
];

export interface FuzzerOptions {
  readonly pool: readonly FuzzPeer[];
  /** The Key clients would send as licence_key; sometimes used, sometimes not. */
  readonly licenceKey: string;
  /** Most peers an OnlineRequest lists (UDP datagrams must stay under 64 KiB). */
  readonly maxOnlinePeers: number;
}

/** Builds the inputs; one instance per transport so each has its own reproducible stream. */
export class RendezvousFuzzer {
  private nextCase = 0;

  constructor(
    readonly random: FuzzRandom,
    private readonly options: FuzzerOptions,
  ) {}

  /** A valid message; variants are taken round-robin so every one occurs, values at random. */
  message(only?: readonly RendezvousCase[]): RendezvousPayload {
    const cases = only ?? RENDEZVOUS_CASES;
    const chosen = cases[this.nextCase++ % cases.length] ?? 'registerPeer';
    return this.build(chosen);
  }

  /**
   * 5–25 well-formed messages a server keeps a TCP/WS connection open for: a pool peer's RegisterPk
   * first (on OK the connection becomes its registration link, docs/protocol.md §5.11a, where one-shot
   * requests no longer close it), then messages of every type. Gets fuzz past the first frame.
   */
  survivablePrefix(): Buffer[] {
    const r = this.random;
    const peer = r.pick(this.options.pool);
    const messages = [
      encodeRendezvous({
        $case: 'registerPk',
        value: RegisterPk.fromPartial({ id: peer.id, uuid: peer.uuid, pk: peer.pk }),
      }),
    ];
    for (let i = r.between(5, 25); i > 0; i--) {
      messages.push(r.chance(0.2) ? Buffer.alloc(0) : encodeRendezvous(this.message()));
    }
    return messages;
  }

  /** What goes in a datagram or a frame: valid, mutated, or plain random bytes. */
  payload(only?: readonly RendezvousCase[]): Buffer {
    const roll = this.random.next();
    if (roll < 0.15) return this.random.bytes(this.random.length(600));
    const valid = encodeRendezvous(this.message(only));
    if (roll < 0.4) return valid;
    return this.mutate(valid);
  }

  /** One to three byte-level mutations of `bytes`. */
  mutate(bytes: Buffer): Buffer {
    let mutated = bytes;
    const rounds = this.random.between(1, 3);
    for (let i = 0; i < rounds; i++) mutated = this.mutateOnce(mutated);
    return mutated;
  }

  /**
   * One BytesCodec frame around `payload`: mostly honest, sometimes with a non-minimal header (legal),
   * a header that lies about the length, or a huge or just-too-big length prefix with no body.
   */
  frame(payload: Buffer): Buffer {
    const roll = this.random.next();
    if (roll < 0.8) return encodeFrame(payload);
    if (roll < 0.85) return Buffer.concat([longHeader(payload.length, this.random.between(2, 4)), payload]);
    if (roll < 0.9) {
      const lie = Math.max(0, payload.length + this.random.pick([-3, -1, 1, 2, 17]));
      return Buffer.concat([encodeFrameHeader(lie), payload]);
    }
    if (roll < 0.95) return encodeFrameHeader(this.random.pick([0x3fffffff, 0x400000, 64 * 1024 + 1]));
    return encodeFrame(Buffer.alloc(0));
  }

  private build(kind: RendezvousCase): RendezvousPayload {
    const r = this.random;
    const id = () => this.id();
    const addr = () => this.socketAddr();
    switch (kind) {
      case 'registerPeer':
        return {
          $case: kind,
          value: RegisterPeer.fromPartial({ id: id(), serial: r.chance(0.8) ? 0 : r.int32() }),
        };
      case 'registerPeerResponse':
        return { $case: kind, value: RegisterPeerResponse.fromPartial({ requestPk: r.chance(0.5) }) };
      case 'punchHoleRequest':
        return {
          $case: kind,
          value: PunchHoleRequest.fromPartial({
            id: id(),
            natType: r.int(4),
            licenceKey: r.chance(0.5) ? this.options.licenceKey : r.text(50),
            connType: r.int(7),
            token: r.chance(0.8) ? '' : r.text(200),
            version: r.chance(0.5) ? '1.4.2' : r.text(20),
            udpPort: r.int32(),
            forceRelay: r.chance(0.3),
            upnpPort: r.int32(),
            socketAddrV6: r.bytes(r.length(30)),
            switchCode: r.chance(0.9) ? '' : r.text(20),
          }),
        };
      case 'punchHole':
        return {
          $case: kind,
          value: PunchHole.fromPartial({ socketAddr: addr(), relayServer: r.text(40), natType: r.int(3) }),
        };
      case 'punchHoleSent':
        return {
          $case: kind,
          value: PunchHoleSent.fromPartial({
            socketAddr: addr(),
            id: id(),
            relayServer: r.text(40),
            natType: r.int(3),
            version: r.chance(0.7) ? '1.4.2' : '',
            upnpPort: r.int32(),
            socketAddrV6: r.bytes(r.length(30)),
          }),
        };
      case 'punchHoleResponse':
        return {
          $case: kind,
          value: PunchHoleResponse.fromPartial({
            socketAddr: addr(),
            pk: r.bytes(r.length(120)),
            failure: r.int(5),
            relayServer: r.text(40),
            union: r.chance(0.5)
              ? { $case: 'natType', value: r.int(3) }
              : { $case: 'isLocal', value: r.chance(0.5) },
            otherFailure: r.text(40),
          }),
        };
      case 'fetchLocalAddr':
        return {
          $case: kind,
          value: FetchLocalAddr.fromPartial({ socketAddr: addr(), relayServer: r.text(40) }),
        };
      case 'localAddr':
        return {
          $case: kind,
          value: LocalAddr.fromPartial({
            socketAddr: addr(),
            localAddr: addr(),
            relayServer: r.text(40),
            id: id(),
            version: r.chance(0.7) ? '1.4.2' : '',
          }),
        };
      case 'configureUpdate':
        return {
          $case: kind,
          value: ConfigUpdate.fromPartial({
            serial: r.int32(),
            rendezvousServers: Array.from({ length: r.int(5) }, () => r.text(30)),
          }),
        };
      case 'registerPk':
        return { $case: kind, value: this.registerPk() };
      case 'registerPkResponse':
        return {
          $case: kind,
          value: RegisterPkResponse.fromPartial({ result: r.int(9), keepAlive: r.int32() }),
        };
      case 'softwareUpdate':
        return { $case: kind, value: SoftwareUpdate.fromPartial({ url: r.text(100) }) };
      case 'requestRelay':
        return {
          $case: kind,
          value: RequestRelay.fromPartial({
            id: id(),
            uuid: r.chance(0.7) ? this.uuidText() : r.text(60),
            socketAddr: addr(),
            relayServer: r.text(40),
            secure: r.chance(0.5),
            licenceKey: r.chance(0.5) ? this.options.licenceKey : r.text(50),
            connType: r.int(7),
            token: r.chance(0.8) ? '' : r.text(200),
          }),
        };
      case 'relayResponse':
        return {
          $case: kind,
          value: RelayResponse.fromPartial({
            socketAddr: addr(),
            uuid: r.chance(0.7) ? this.uuidText() : r.text(60),
            relayServer: r.text(40),
            union: r.chance(0.5)
              ? { $case: 'id', value: id() }
              : { $case: 'pk', value: r.bytes(r.length(120)) },
            refuseReason: r.chance(0.8) ? '' : r.text(40),
            version: r.chance(0.7) ? '1.4.2' : '',
          }),
        };
      case 'testNatRequest':
        return { $case: kind, value: TestNatRequest.fromPartial({ serial: r.int32() }) };
      case 'testNatResponse':
        return {
          $case: kind,
          value: TestNatResponse.fromPartial({
            port: r.int32(),
            cu: { serial: r.int32(), rendezvousServers: [] },
          }),
        };
      case 'peerDiscovery':
        return {
          $case: kind,
          value: PeerDiscovery.fromPartial({
            cmd: r.text(10),
            mac: r.text(17),
            id: id(),
            hostname: r.text(30),
          }),
        };
      case 'onlineRequest':
        return {
          $case: kind,
          value: OnlineRequest.fromPartial({
            id: id(),
            peers: Array.from({ length: r.length(this.options.maxOnlinePeers) }, id),
          }),
        };
      case 'onlineResponse':
        return { $case: kind, value: OnlineResponse.fromPartial({ states: r.bytes(r.length(100)) }) };
      case 'keyExchange':
        return {
          $case: kind,
          value: KeyExchange.fromPartial({
            keys: Array.from({ length: r.int(4) }, () => r.bytes(r.pick([32, 48, 96, r.length(128)]))),
          }),
        };
      case 'hc':
        return { $case: kind, value: HealthCheck.fromPartial({ token: r.text(64) }) };
      case 'httpProxyRequest':
        return {
          $case: kind,
          value: HttpProxyRequest.fromPartial({
            method: r.pick(['GET', 'POST', r.text(8)]),
            path: r.text(80),
            headers: Array.from({ length: r.int(4) }, () => ({ name: r.text(20), value: r.text(40) })),
            body: r.bytes(r.length(300)),
          }),
        };
      case 'httpProxyResponse':
        return {
          $case: kind,
          value: HttpProxyResponse.fromPartial({
            status: r.int32(),
            body: r.bytes(r.length(300)),
            error: r.text(40),
          }),
        };
    }
  }

  /** A RegisterPk for a pool peer (consistent, so it registers), or a random one. */
  private registerPk(): RegisterPk {
    const r = this.random;
    if (r.chance(0.5)) {
      const peer = r.pick(this.options.pool);
      return RegisterPk.fromPartial({ id: peer.id, uuid: peer.uuid, pk: peer.pk });
    }
    return RegisterPk.fromPartial({
      id: this.id(),
      uuid: r.bytes(r.pick([0, 16, 36, r.length(200)])),
      pk: r.bytes(r.pick([0, 32, r.length(100)])),
      oldId: r.chance(0.2) ? this.id() : '',
      noRegisterDevice: r.chance(0.1),
    });
  }

  /** What clients put in RequestRelay.uuid / RelayResponse.uuid: a UUID's text. */
  private uuidText(): string {
    const hex = this.random.bytes(16).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** A pool id (known, maybe online), a fresh nine-digit id, or any text at all. */
  private id(): string {
    const r = this.random;
    const roll = r.next();
    if (roll < 0.5) return r.pick(this.options.pool).id;
    if (roll < 0.8) return String(100_000_000 + r.int(900_000_000));
    return r.text(40);
  }

  /** A correctly mangled loopback address (docs/protocol.md §3) or random bytes. */
  private socketAddr(): Buffer {
    const r = this.random;
    if (r.chance(0.5)) {
      const address = r.chance(0.8) ? `127.0.${r.int(40)}.${r.between(1, 254)}` : '::1';
      return encodeAddrMangle({ address, port: r.between(1, 65535) }, BigInt(Date.now()) * 1000n);
    }
    return r.bytes(r.length(40));
  }

  private mutateOnce(bytes: Buffer): Buffer {
    const r = this.random;
    const at = () => r.int(Math.max(bytes.length, 1));
    switch (r.int(11)) {
      case 0: {
        // Flip a few bits.
        const copy = Buffer.from(bytes);
        for (let i = r.between(1, 4); i > 0 && copy.length > 0; i--) {
          const index = at();
          copy[index] = (copy[index] ?? 0) ^ (1 << r.int(8));
        }
        return copy;
      }
      case 1: {
        // Boundary byte values.
        const copy = Buffer.from(bytes);
        if (copy.length > 0) copy[at()] = r.pick([0x00, 0x01, 0x7f, 0x80, 0xff]);
        return copy;
      }
      case 2:
        return bytes.subarray(0, at());
      case 3:
        return Buffer.concat([bytes, r.bytes(r.between(1, 64))]);
      case 4: {
        const index = at();
        return Buffer.concat([bytes.subarray(0, index), r.bytes(r.between(1, 16)), bytes.subarray(index)]);
      }
      case 5: {
        const index = at();
        return Buffer.concat([bytes.subarray(0, index), bytes.subarray(index + r.between(1, 8))]);
      }
      case 6: {
        // A huge, overlong or never-ending varint where a tag or length would be read.
        const index = at();
        const varint = r.pick(HOSTILE_VARINTS);
        return Buffer.concat([bytes.subarray(0, index), varint, bytes.subarray(index + 1)]);
      }
      case 7: {
        // Another field number and wire type, outside (byte 0) or inside (after the outer length).
        const copy = Buffer.from(bytes);
        const index = r.chance(0.5) || copy.length < 3 ? 0 : 2;
        if (copy.length > index) copy[index] = ((r.int(40) << 3) | r.int(8)) & 0xff;
        return copy;
      }
      case 8: {
        // The outer length, off by a little or a lot.
        const copy = Buffer.from(bytes);
        if (copy.length > 1) copy[1] = ((copy[1] ?? 0) + r.pick([-2, -1, 1, 2, 64, 127])) & 0xff;
        return copy;
      }
      case 9: {
        // A slice repeated: duplicate fields (the last one wins in protobuf).
        const start = at();
        const slice = bytes.subarray(start, start + r.between(1, 32));
        return Buffer.concat([bytes.subarray(0, start), slice, slice, bytes.subarray(start + slice.length)]);
      }
      default:
        // Spliced with another valid message.
        return Buffer.concat([bytes.subarray(0, at()), encodeRendezvous(this.message()).subarray(r.int(8))]);
    }
  }
}

const HOSTILE_VARINTS: readonly Buffer[] = [
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
  Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
  Buffer.alloc(11, 0xff),
  Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
  Buffer.from([0x80]),
];

/** A BytesCodec header of `size` bytes for `length` (legal: the low bits say how long the header is). */
function longHeader(length: number, atLeast: number): Buffer {
  const size = Math.max(atLeast, encodeFrameHeader(length).length);
  const header = Buffer.alloc(size);
  header.writeUIntLE(length * 4 + (size - 1), 0, size);
  return header;
}
