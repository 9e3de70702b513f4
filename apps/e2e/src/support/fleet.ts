import { randomInt, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';

import nacl from 'tweetnacl';

import { type IdentityKeyPair } from '@switchboard/crypto';
import { NatType, RegisterPkResponse_Result } from '@switchboard/protocol';
import {
  type FramedLink,
  type PeerTransport,
  type RegistrationOutcome,
  RustDeskPeer,
  type RustDeskPeerOptions,
} from '@switchboard/testing';

// The devices of the access tests. A Machine is what survives a client restart (id, machine uuid,
// key pair, network address); a RustDeskPeer is one run of the client on it. A refused client backs
// off for 30 s (NOT_DEPLOYED) or waits for its link to die, so a test that expects it back starts a
// new run on the same machine, as the client does after `--deploy` (ipc Data::Deployed restarts the
// rendezvous mediator) or after its link was cut.

export interface Machine {
  readonly id: string;
  readonly uuid: Buffer;
  readonly identity: IdentityKeyPair;
  /** A loopback address of its own, so hbbs's per-IP limits never tie one test's devices to another's. */
  readonly localAddress: string;
}

export interface SignalEndpoint {
  readonly host: string;
  readonly port: number;
  /** The Key: the text of the server's id_ed25519.pub. */
  readonly key: string;
}

let loopbacks = 0;

/** 127.0.2.1, 127.0.2.2, ... (other e2e files use 127.0.1.x; each signal process limits on its own). */
function ownLoopback(): string {
  const n = loopbacks++;
  return `127.0.${2 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

export function nineDigitId(): string {
  return String(randomInt(100_000_000, 999_999_999));
}

export function newMachine(id: string = nineDigitId()): Machine {
  return { id, uuid: Buffer.from(randomUUID()), identity: nacl.sign.keyPair(), localAddress: ownLoopback() };
}

/** Every client run a test starts, so afterEach can stop them all and check what they saw. */
export class Fleet {
  private readonly peers: RustDeskPeer[] = [];

  constructor(private server: SignalEndpoint) {}

  /** The signal process restarted (new ports, new key). */
  retarget(server: SignalEndpoint): void {
    this.server = server;
  }

  /** A new run of the client on `machine`. */
  run(machine: Machine, options: Partial<RustDeskPeerOptions> = {}): RustDeskPeer {
    const peer = new RustDeskPeer({
      id: machine.id,
      uuid: machine.uuid,
      identity: machine.identity,
      localAddress: machine.localAddress,
      server: { host: this.server.host, port: this.server.port },
      key: this.server.key,
      timeoutMs: 5_000,
      ...options,
    });
    this.peers.push(peer);
    return peer;
  }

  /** A controller (A) on a network of its own. */
  controller(options: Partial<RustDeskPeerOptions> = {}): RustDeskPeer {
    return this.run(newMachine(), options);
  }

  /** Starts a client run registering over `transport`; resolves with its first RegisterPkResponse. */
  async register(
    machine: Machine,
    transport: PeerTransport,
    options: Partial<RustDeskPeerOptions> = {},
  ): Promise<{ peer: RustDeskPeer; outcome: RegistrationOutcome }> {
    const peer = this.run(machine, { transport, ...options });
    const outcome = await peer.register();
    return { peer, outcome };
  }

  /** UUID_MISMATCH seen by any run since the last stopAll (it must never be the answer to access rules). */
  uuidMismatches(): number {
    return this.peers.reduce((sum, peer) => sum + peer.stats.uuidMismatches, 0);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.peers.splice(0).map((peer) => peer.stop()));
  }
}

export function answered(result: RegisterPkResponse_Result): RegistrationOutcome {
  return { answered: true, result, keepAliveSeconds: expect.any(Number) as number };
}

/** The refusal signal gives a denied device's RegisterPk (docs/protocol.md §7: NOT_DEPLOYED, never UUID_MISMATCH). */
export function refusedNotDeployed(): RegistrationOutcome {
  return answered(RegisterPkResponse_Result.NOT_DEPLOYED);
}

/** Registers over a long-lived link and returns that link. */
export async function registeredLink(
  fleet: Fleet,
  machine: Machine,
  transport: 'tcp' | 'ws',
): Promise<FramedLink> {
  const { peer, outcome } = await fleet.register(machine, transport, { natType: NatType.ASYMMETRIC });
  expect(outcome).toEqual(answered(RegisterPkResponse_Result.OK));
  return linkOf(peer);
}

export function linkOf(peer: RustDeskPeer): FramedLink {
  const link = peer.registrationLink;
  if (link === undefined) throw new Error(`${peer.id} holds no registration link`);
  return link;
}

/**
 * New client runs on `machine` until one is registered (an event travels asynchronously); the
 * bound keeps a server that never lets it back a failure.
 */
export async function registersWithin(
  fleet: Fleet,
  machine: Machine,
  transport: PeerTransport,
  timeoutMs: number,
): Promise<RustDeskPeer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { peer, outcome } = await fleet.register(machine, transport, { natType: NatType.ASYMMETRIC });
    if (outcome.answered && outcome.result === RegisterPkResponse_Result.OK) return peer;
    await peer.stop();
    if (Date.now() > deadline) {
      throw new Error(`${machine.id} not registered within ${timeoutMs} ms: ${inspect(outcome)}`);
    }
    await delay(250);
  }
}

export async function withinMs(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
