import nacl from 'tweetnacl';

import { IdPk } from '@switchboard/protocol';

import { signIdPk, verifySignedIdPk } from './signed-id-pk';

const RFC_KEY_PAIR = nacl.sign.keyPair.fromSeed(
  Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
);
const ID_PK = Buffer.from('0a09313233343536373839' + '1220' + '01'.repeat(32), 'hex');

describe('signed IdPk (docs/protocol.md §4)', () => {
  it('signs IdPk{id:"123456789", pk:32×0x01} into 109 bytes starting 9c0b65e88f6f5893', () => {
    const signed = signIdPk('123456789', new Uint8Array(32).fill(1), RFC_KEY_PAIR);
    expect(signed.length).toBe(109);
    expect(signed.subarray(0, 8).toString('hex')).toBe('9c0b65e88f6f5893');
    // NaCl combined form: the 45-byte encoded IdPk follows the 64-byte signature.
    expect(signed.subarray(64)).toEqual(ID_PK);
  });

  it('verifies as the client does', () => {
    const signed = signIdPk('123456789', new Uint8Array(32).fill(1), RFC_KEY_PAIR);
    expect(verifySignedIdPk(signed, RFC_KEY_PAIR.publicKey)).toEqual({
      id: '123456789',
      pk: Buffer.alloc(32, 1),
    });
  });

  it('refuses another signer, a tampered message, a short pk and a payload that is not an IdPk', () => {
    const signed = signIdPk('123456789', new Uint8Array(32).fill(1), RFC_KEY_PAIR);
    expect(verifySignedIdPk(signed, nacl.sign.keyPair().publicKey)).toBeUndefined();
    const tampered = Buffer.from(signed);
    tampered[70]! ^= 1;
    expect(verifySignedIdPk(tampered, RFC_KEY_PAIR.publicKey)).toBeUndefined();
    expect(
      verifySignedIdPk(signIdPk('1', new Uint8Array(31), RFC_KEY_PAIR), RFC_KEY_PAIR.publicKey),
    ).toBeUndefined();
    const notIdPk = nacl.sign(Buffer.from('0a05', 'hex'), RFC_KEY_PAIR.secretKey);
    expect(verifySignedIdPk(notIdPk, RFC_KEY_PAIR.publicKey)).toBeUndefined();
    expect(verifySignedIdPk(Buffer.alloc(10), RFC_KEY_PAIR.publicKey)).toBeUndefined();
  });

  it('signs a peer box key the same way for Message.signed_id', () => {
    const peer = nacl.sign.keyPair();
    const boxKey = nacl.box.keyPair().publicKey;
    const signed = signIdPk('987654321', boxKey, peer);
    expect(IdPk.decode(nacl.sign.open(signed, peer.publicKey)!)).toEqual({
      id: '987654321',
      pk: Buffer.from(boxKey),
    });
  });
});
