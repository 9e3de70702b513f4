import nacl from 'tweetnacl';

import { decodeRendezvous, encodeRendezvous } from '@switchboard/protocol';

import { FrameCipher, frameNonce } from './frame-cipher';
import { type RandomBytes } from './identity-key';
import { answerServerKeyExchange, generateBoxKeyPair, SecureChannel } from './secure-channel';

// Vectors from docs/protocol.md §4 (tweetnacl 1.0.3), RFC 8032 §7.1 test 1 as the server identity.
const hex = (text: string) => Buffer.from(text, 'hex');
const RFC_KEY_PAIR = nacl.sign.keyPair.fromSeed(
  hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
);
const REGISTER_PEER = hex('320b0a09313233343536373839');
const SEALED_SYMMETRIC_KEY =
  'eb0695edf1b0a61ffc663c80123c2c44e0b2f0dd3e5855f492b88bafcd4948b6ab0a8f1097831986f4657d2fea6fa621';
const REGISTER_PEER_UNDER_NONCE_1 = '00180ca123a9dbd6efe801dc87f5de45dc0bee7e67c137628c04150395';

/** Hands out the given byte fills in order, 32 bytes each, like nacl.randomBytes would. */
function scriptedRandom(...fills: number[]): RandomBytes {
  return (length) => {
    const fill = fills.shift();
    if (fill === undefined) throw new Error('scripted randomness exhausted');
    return new Uint8Array(length).fill(fill);
  };
}

function handshake() {
  const server = new SecureChannel(RFC_KEY_PAIR, scriptedRandom(0x02));
  const client = answerServerKeyExchange(
    [server.signedBoxPublicKey],
    RFC_KEY_PAIR.publicKey,
    scriptedRandom(0x03, 0x04),
  );
  if (!client.ok) throw new Error(`client refused: ${client.error.kind}`);
  expect(server.acceptClientKeyExchange(client.keys)).toEqual({ ok: true });
  return { server, client: client.cipher, keys: client.keys };
}

describe('secure TCP key exchange (docs/protocol.md §4 vectors)', () => {
  it('signs the server box key ce8d3ad1…7d59 into a 96-byte key starting a0f354085ce790c8', () => {
    const server = new SecureChannel(RFC_KEY_PAIR, scriptedRandom(0x02));
    const signed = server.signedBoxPublicKey;
    expect(signed.length).toBe(96);
    expect(signed.subarray(0, 8).toString('hex')).toBe('a0f354085ce790c8');
    const boxKey = nacl.sign.open(signed, RFC_KEY_PAIR.publicKey);
    expect(Buffer.from(boxKey!).toString('hex')).toMatch(/^ce8d3ad1[0-9a-f]{52}7d59$/);
    expect(server.state).toBe('awaiting-first-message');
  });

  it('goes out as a plaintext RendezvousMessage under the ca 01 tag', () => {
    const signed = new SecureChannel(RFC_KEY_PAIR, scriptedRandom(0x02)).signedBoxPublicKey;
    const frame = encodeRendezvous({ $case: 'keyExchange', value: { keys: [signed] } });
    expect(frame.subarray(0, 5).toString('hex')).toBe('ca01620a60');
    expect(frame.subarray(5)).toEqual(signed);
    expect(decodeRendezvous(frame)).toEqual({
      ok: true,
      payload: { $case: 'keyExchange', value: { keys: [signed] } },
    });
  });

  it('lets the client answer with box key 5dfedd3b…ef22 and the sealed symmetric key eb0695ed…a621', () => {
    const { keys, server } = handshake();
    expect(keys[0].toString('hex')).toMatch(/^5dfedd3b[0-9a-f]{52}ef22$/);
    expect(keys[1].toString('hex')).toBe(SEALED_SYMMETRIC_KEY);
    expect(server.state).toBe('secured');
  });

  it('seals the first frame under nonce 1: the RegisterPeer example becomes 00180ca1…0395', () => {
    const { server, client } = handshake();
    const sealed = client.seal(REGISTER_PEER);
    expect(sealed.toString('hex')).toBe(REGISTER_PEER_UNDER_NONCE_1);
    expect(server.open(sealed)).toEqual({ ok: true, plain: REGISTER_PEER });
    expect(new FrameCipher(new Uint8Array(32).fill(4)).seal(REGISTER_PEER).toString('hex')).toBe(
      REGISTER_PEER_UNDER_NONCE_1,
    );
  });
});

describe('a secured channel', () => {
  it('carries many frames both ways, heartbeats in the clear, with separate counters', () => {
    const { server, client } = handshake();
    const messages = Array.from({ length: 12 }, (_, i) => Buffer.from(`frame ${i} `.repeat(i + 1)));
    for (const [i, message] of messages.entries()) {
      const up = client.seal(message);
      expect(up.length).toBe(message.length + 16);
      expect(server.open(up)).toEqual({ ok: true, plain: message });
      if (i % 3 === 0) {
        // An empty heartbeat and a 1-byte frame: untouched, and no counter moves.
        expect(server.seal(Buffer.alloc(0))).toEqual(Buffer.alloc(0));
        expect(client.open(Buffer.from([7]))).toEqual({ ok: true, plain: Buffer.from([7]) });
      }
      const down = server.seal(Buffer.concat([message, message]));
      expect(client.open(down)).toEqual({ ok: true, plain: Buffer.concat([message, message]) });
    }
    expect(client.sealedFrames).toBe(12);
    expect(client.openedFrames).toBe(12);
  });

  it('never reuses a nonce: the same plaintext seals differently each time', () => {
    const { server } = handshake();
    expect(server.seal(REGISTER_PEER)).not.toEqual(server.seal(REGISTER_PEER));
  });

  it('reports a tampered, replayed or reordered frame as a typed error', () => {
    const { server, client } = handshake();
    const first = client.seal(REGISTER_PEER);
    const second = client.seal(REGISTER_PEER);
    const tampered = Buffer.from(first);
    tampered[20]! ^= 1;
    expect(server.open(tampered)).toEqual({ ok: false, error: { kind: 'decrypt-failed', counter: 1 } });

    const replay = handshake();
    expect(replay.server.open(first)).toMatchObject({ ok: true });
    expect(replay.server.open(first)).toEqual({ ok: false, error: { kind: 'decrypt-failed', counter: 2 } });

    const reorder = handshake();
    expect(reorder.server.open(second)).toMatchObject({ ok: false, error: { kind: 'decrypt-failed' } });
  });

  it('rejects a plaintext frame once secured', () => {
    const { server } = handshake();
    expect(server.open(REGISTER_PEER)).toMatchObject({ ok: false, error: { kind: 'decrypt-failed' } });
  });

  it('writes the u64 counter little-endian into the first 8 nonce bytes', () => {
    expect(Buffer.from(frameNonce(1)).toString('hex')).toBe('01' + '00'.repeat(23));
    expect(Buffer.from(frameNonce(2 ** 32 + 0x0102)).toString('hex')).toBe(
      '0201000001000000' + '00'.repeat(16),
    );
  });
});

describe('server side state machine', () => {
  it('passes frames through while waiting and after the client chose plaintext', () => {
    const server = new SecureChannel(RFC_KEY_PAIR);
    expect(server.open(REGISTER_PEER)).toEqual({ ok: true, plain: REGISTER_PEER });
    server.continueInPlaintext();
    expect(server.state).toBe('plaintext');
    expect(server.seal(REGISTER_PEER)).toEqual(REGISTER_PEER);
    expect(server.open(REGISTER_PEER)).toEqual({ ok: true, plain: REGISTER_PEER });
    const late = answerServerKeyExchange([server.signedBoxPublicKey], RFC_KEY_PAIR.publicKey);
    expect(late.ok && server.acceptClientKeyExchange(late.keys)).toEqual({
      ok: false,
      error: { kind: 'unexpected', state: 'plaintext' },
    });
  });

  it('accepts one exchange only', () => {
    const { server, keys } = handshake();
    expect(server.acceptClientKeyExchange(keys)).toEqual({
      ok: false,
      error: { kind: 'unexpected', state: 'secured' },
    });
    server.continueInPlaintext();
    expect(server.state).toBe('secured');
  });

  it.each([
    [[], { kind: 'wrong-key-count', count: 0 }],
    [[Buffer.alloc(32)], { kind: 'wrong-key-count', count: 1 }],
    [[Buffer.alloc(32), Buffer.alloc(48), Buffer.alloc(1)], { kind: 'wrong-key-count', count: 3 }],
    [[Buffer.alloc(31), Buffer.alloc(48)], { kind: 'wrong-key-length', which: 'box-key', length: 31 }],
    [[Buffer.alloc(32), Buffer.alloc(47)], { kind: 'wrong-key-length', which: 'sealed-key', length: 47 }],
    [[Buffer.alloc(32, 9), Buffer.alloc(48, 9)], { kind: 'box-open-failed' }],
  ])('fails for keys %#, and stays failed', (keys, error) => {
    const server = new SecureChannel(RFC_KEY_PAIR);
    expect(server.acceptClientKeyExchange(keys)).toEqual({ ok: false, error });
    expect(server.state).toBe('failed');
  });

  it('cannot open a key boxed to another connection', () => {
    const other = new SecureChannel(RFC_KEY_PAIR);
    const answer = answerServerKeyExchange([other.signedBoxPublicKey], RFC_KEY_PAIR.publicKey);
    if (!answer.ok) throw new Error('client refused');
    expect(new SecureChannel(RFC_KEY_PAIR).acceptClientKeyExchange(answer.keys)).toEqual({
      ok: false,
      error: { kind: 'box-open-failed' },
    });
    expect(other.acceptClientKeyExchange(answer.keys)).toEqual({ ok: true });
  });
});

describe('box keys from OpenSSL (the default, without injected randomness)', () => {
  it('are exactly the pairs nacl.box.keyPair.fromSecretKey makes, fresh each time', () => {
    const seen = new Set<string>();
    for (let n = 0; n < 200; n += 1) {
      const pair = generateBoxKeyPair();
      expect(pair.secretKey).toHaveLength(32);
      const nacls = nacl.box.keyPair.fromSecretKey(pair.secretKey);
      expect(Buffer.from(pair.publicKey).toString('hex')).toBe(Buffer.from(nacls.publicKey).toString('hex'));
      seen.add(Buffer.from(pair.secretKey).toString('hex'));
    }
    expect(seen.size).toBe(200);
  });

  it('serve a whole exchange with a tweetnacl client, frames both ways', () => {
    const server = new SecureChannel(RFC_KEY_PAIR);
    const answer = answerServerKeyExchange([server.signedBoxPublicKey], RFC_KEY_PAIR.publicKey);
    if (!answer.ok) throw new Error(`client refused: ${answer.error.kind}`);
    expect(server.acceptClientKeyExchange(answer.keys)).toEqual({ ok: true });
    expect(server.open(answer.cipher.seal(REGISTER_PEER))).toEqual({ ok: true, plain: REGISTER_PEER });
    expect(answer.cipher.open(server.seal(REGISTER_PEER))).toEqual({ ok: true, plain: REGISTER_PEER });
  });
});

describe('client side', () => {
  const signed = new SecureChannel(RFC_KEY_PAIR).signedBoxPublicKey;

  it('refuses a box key signed by another server', () => {
    const stranger = nacl.sign.keyPair();
    expect(answerServerKeyExchange([signed], stranger.publicKey)).toEqual({
      ok: false,
      error: { kind: 'bad-signature' },
    });
    const forged = Buffer.from(signed);
    forged[95]! ^= 1;
    expect(answerServerKeyExchange([forged], RFC_KEY_PAIR.publicKey)).toMatchObject({
      ok: false,
      error: { kind: 'bad-signature' },
    });
  });

  it('requires exactly one key holding a signed 32-byte box key', () => {
    expect(answerServerKeyExchange([signed, signed], RFC_KEY_PAIR.publicKey)).toEqual({
      ok: false,
      error: { kind: 'wrong-key-count', count: 2 },
    });
    const short = Buffer.from(nacl.sign(new Uint8Array(31), RFC_KEY_PAIR.secretKey));
    expect(answerServerKeyExchange([short], RFC_KEY_PAIR.publicKey)).toEqual({
      ok: false,
      error: { kind: 'wrong-key-length', which: 'box-key', length: 31 },
    });
  });

  it('treats a malformed configured Key as a programming error', () => {
    expect(() => answerServerKeyExchange([signed], new Uint8Array(31))).toThrow(RangeError);
  });
});
