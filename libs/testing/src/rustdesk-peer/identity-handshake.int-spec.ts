import { randomUUID } from 'node:crypto';

import nacl from 'tweetnacl';

import { signIdPk } from '@switchboard/crypto';

import { type FramedLink } from './framed-link';
import { handshakeAsControlled, handshakeAsController } from './identity-handshake';
import { PairingRelay } from './pairing-relay';
import { joinRelay } from './relay-client';

// docs/protocol.md §8.4 end to end between two peers over real sockets, through the pairing relay:
// B proves its identity with a SignedId, A checks it against the pk the server vouched for, and
// from then on the relay only ever sees ciphertext.

const B_ID = '123456789';
const LICENCE_KEY = 'the-key';

describe('identity handshake through a relay', () => {
  let relay: PairingRelay;
  const links: FramedLink[] = [];
  const server = nacl.sign.keyPair();
  const bIdentity = nacl.sign.keyPair();

  beforeAll(async () => {
    relay = await PairingRelay.start();
  });
  afterEach(() => {
    for (const link of links.splice(0)) link.close();
  });
  afterAll(() => relay.close());

  async function pair(uuid: string): Promise<{ a: FramedLink; b: FramedLink }> {
    const b = await joinRelay({ relay: relay.address, uuid, licenceKey: LICENCE_KEY, timeoutMs: 2_000 });
    const a = await joinRelay({
      relay: relay.address,
      uuid,
      licenceKey: LICENCE_KEY,
      peerId: B_ID,
      localAddress: '127.0.0.2',
      timeoutMs: 2_000,
    });
    links.push(a, b);
    return { a, b };
  }

  it('secures the session when every signature checks out, and the relay carries only ciphertext', async () => {
    const uuid = randomUUID();
    const { a, b } = await pair(uuid);
    const [controlled, controller] = await Promise.all([
      handshakeAsControlled(b, { id: B_ID, identity: bIdentity, secure: true, timeoutMs: 2_000 }),
      handshakeAsController(a, {
        peerId: B_ID,
        signedPeerPk: signIdPk(B_ID, bIdentity.publicKey, server),
        serverKey: server.publicKey,
        timeoutMs: 2_000,
      }),
    ]);
    expect(controlled).toEqual({ secured: true });
    expect(controller).toEqual({ secured: true, peerPk: Buffer.from(bIdentity.publicKey) });

    const secret = { salt: 'pepper-and-salt', challenge: 'a challenge nobody in the middle may read' };
    await a.sendPeerMessage({ $case: 'hash', value: secret });
    expect(await b.nextPeerMessage(2_000)).toEqual({ $case: 'hash', value: secret });
    await b.sendPeerMessage({ $case: 'hash', value: { salt: 'back', challenge: 'again' } });
    expect(await a.nextPeerMessage(2_000)).toEqual({
      $case: 'hash',
      value: { salt: 'back', challenge: 'again' },
    });

    const relayed = relay.relayedBytes(uuid);
    expect(relayed.length).toBeGreaterThan(0);
    expect(relayed.includes(Buffer.from(secret.challenge))).toBe(false);
    // Each side named the uuid; only the controlling side named the peer.
    const requests = relay.requests.filter((recorded) => recorded.request.uuid === uuid);
    expect(requests.map((recorded) => [recorded.request.id, recorded.request.licenceKey])).toEqual([
      ['', LICENCE_KEY],
      [B_ID, LICENCE_KEY],
    ]);
  });

  it('falls back to the clear when the server-signed pk does not verify under the Key', async () => {
    const { a, b } = await pair(randomUUID());
    const [controlled, controller] = await Promise.all([
      handshakeAsControlled(b, { id: B_ID, identity: bIdentity, secure: true, timeoutMs: 2_000 }),
      handshakeAsController(a, {
        peerId: B_ID,
        signedPeerPk: signIdPk(B_ID, bIdentity.publicKey, nacl.sign.keyPair()),
        serverKey: server.publicKey,
        timeoutMs: 2_000,
      }),
    ]);
    expect(controller).toEqual({ secured: false, reason: 'bad-signed-pk' });
    expect(controlled).toEqual({ secured: false, reason: 'declined' });
    expect(a.secured || b.secured).toBe(false);
  });

  it('refuses a SignedId made with a key other than the one the server vouched for', async () => {
    const { a, b } = await pair(randomUUID());
    const [controlled, controller] = await Promise.all([
      handshakeAsControlled(b, { id: B_ID, identity: nacl.sign.keyPair(), secure: true, timeoutMs: 2_000 }),
      handshakeAsController(a, {
        peerId: B_ID,
        signedPeerPk: signIdPk(B_ID, bIdentity.publicKey, server),
        serverKey: server.publicKey,
        timeoutMs: 2_000,
      }),
    ]);
    expect(controller).toEqual({ secured: false, reason: 'bad-signed-id' });
    expect(controlled).toEqual({ secured: false, reason: 'declined' });
  });

  it('vouches for the dialled id only', async () => {
    const { a, b } = await pair(randomUUID());
    const [, controller] = await Promise.all([
      handshakeAsControlled(b, { id: B_ID, identity: bIdentity, secure: true, timeoutMs: 2_000 }),
      handshakeAsController(a, {
        peerId: B_ID,
        signedPeerPk: signIdPk('987654321', bIdentity.publicKey, server),
        serverKey: server.publicKey,
        timeoutMs: 2_000,
      }),
    ]);
    expect(controller).toEqual({ secured: false, reason: 'bad-signed-pk' });
  });
});
