import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

import { IdPk } from './generated/message';
import {
  NatType,
  PunchHoleResponse,
  PunchHoleResponse_Failure,
  RendezvousMessage,
} from './generated/rendezvous';
import { decodePeerMessage, decodeRendezvous, encodePeerMessage, encodeRendezvous } from './rendezvous-codec';

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');

describe('RendezvousMessage (docs/protocol.md §2)', () => {
  it('encodes the spec example RegisterPeer{id:"123456789"}', () => {
    const bytes = encodeRendezvous({ $case: 'registerPeer', value: { id: '123456789', serial: 0 } });
    expect(bytes).toEqual(hex('32 0b 0a 09 31 32 33 34 35 36 37 38 39'));
  });

  it('decodes it back, ignoring unknown fields a newer client may add', () => {
    expect(decodeRendezvous(hex('32 0b 0a 09 31 32 33 34 35 36 37 38 39'))).toEqual({
      ok: true,
      payload: { $case: 'registerPeer', value: { id: '123456789', serial: 0 } },
    });
    // Field 99 (varint 7) inside RegisterPeer, then serial 5.
    expect(decodeRendezvous(hex('32 10 0a 09 31 32 33 34 35 36 37 38 39 98 06 07 10 05'))).toEqual({
      ok: true,
      payload: { $case: 'registerPeer', value: { id: '123456789', serial: 5 } },
    });
  });

  it('tags key_exchange (field 25) with the two bytes ca 01', () => {
    const bytes = encodeRendezvous({ $case: 'keyExchange', value: { keys: [Buffer.alloc(96, 7)] } });
    expect(bytes.subarray(0, 2)).toEqual(hex('ca 01'));
    expect(bytes.length).toBe(2 + 1 + 2 + 96); // ca 01, length 98, inner tag and length, the key
  });

  it.each([
    ['registerPeerResponse', 7],
    ['punchHoleRequest', 8],
    ['punchHoleResponse', 11],
    ['configureUpdate', 14],
    ['registerPk', 15],
    ['requestRelay', 18],
    ['relayResponse', 19],
    ['testNatRequest', 20],
    ['onlineResponse', 24],
    ['hc', 26],
    ['httpProxyResponse', 28],
  ] as const)('puts %s on field %i', ($case, field) => {
    const empty = RendezvousMessage.fromPartial({ union: { $case, value: {} } });
    const bytes = encodeRendezvous(empty.union!);
    expect(new BinaryReader(bytes).tag()).toEqual([field, WireType.LengthDelimited]);
  });

  it('writes a PunchHoleResponse oneof even when it holds the default', () => {
    const value = PunchHoleResponse.fromPartial({
      socketAddr: hex('0102'),
      union: { $case: 'natType', value: NatType.UNKNOWN_NAT },
    });
    const bytes = encodeRendezvous({ $case: 'punchHoleResponse', value });
    expect(bytes).toEqual(hex('5a 06 0a 02 01 02 28 00'));
    const decoded = decodeRendezvous(bytes);
    expect(
      decoded.ok && decoded.payload.$case === 'punchHoleResponse' && decoded.payload.value.union,
    ).toEqual({
      $case: 'natType',
      value: NatType.UNKNOWN_NAT,
    });
  });

  it('round-trips every field of a large message, u64 and nested ones included', () => {
    const payload = {
      $case: 'requestRelay' as const,
      value: {
        id: 'abc',
        uuid: 'u-1',
        socketAddr: hex('aabbcc'),
        relayServer: 'relay:21117',
        secure: true,
        licenceKey: 'K',
        connType: 3,
        token: 't',
        controlPermissions: { permissions: 0xffff_ffff_ffff_ffffn },
        controlledContext: { connAuditRef: 'ref' },
        switchCode: 'sw',
      },
    };
    expect(decodeRendezvous(encodeRendezvous(payload))).toEqual({ ok: true, payload });
  });

  it('keeps enum values this build does not know', () => {
    const decoded = decodeRendezvous(hex('5a 02 18 09'));
    expect(decoded).toEqual({
      ok: true,
      payload: { $case: 'punchHoleResponse', value: expect.objectContaining({ failure: 9 }) },
    });
    expect(PunchHoleResponse_Failure[9]).toBeUndefined();
  });

  it('returns typed errors instead of throwing', () => {
    expect(decodeRendezvous(hex('32 0b 0a 09 31'))).toEqual({
      ok: false,
      error: { kind: 'malformed', detail: expect.any(String) },
    });
    expect(decodeRendezvous(hex('ff ff ff ff ff ff ff ff ff ff ff'))).toMatchObject({
      ok: false,
      error: { kind: 'malformed' },
    });
    expect(decodeRendezvous(hex('0f'))).toMatchObject({ ok: false, error: { kind: 'malformed' } });
    expect(decodeRendezvous(Buffer.alloc(0))).toEqual({ ok: false, error: { kind: 'no-known-variant' } });
    expect(decodeRendezvous(hex('08 01'))).toEqual({ ok: false, error: { kind: 'no-known-variant' } });
  });

  it('never throws on random input', () => {
    for (let i = 0; i < 20000; i++) {
      const bytes = Buffer.from(Array.from({ length: 1 + (i % 40) }, () => Math.floor(Math.random() * 256)));
      expect(() => decodeRendezvous(bytes)).not.toThrow();
      expect(() => decodePeerMessage(bytes)).not.toThrow();
    }
  });
});

describe('Message and IdPk (message.proto slice, docs/protocol.md §2 and §4)', () => {
  it('encodes IdPk{id:"123456789", pk:32×0x01} in 45 bytes', () => {
    const bytes = Buffer.from(IdPk.encode({ id: '123456789', pk: Buffer.alloc(32, 1) }).finish());
    expect(bytes.length).toBe(45);
    expect(bytes.toString('hex')).toBe('0a09313233343536373839' + '1220' + '01'.repeat(32));
  });

  it('round-trips signed_id and public_key on their field numbers', () => {
    const signed = encodePeerMessage({ $case: 'signedId', value: { id: hex('0102') } });
    expect(signed).toEqual(hex('1a 04 0a 02 01 02'));
    const publicKey = {
      $case: 'publicKey' as const,
      value: { asymmetricValue: hex('aa'), symmetricValue: hex('bb') },
    };
    const bytes = encodePeerMessage(publicKey);
    expect(bytes[0]).toBe((4 << 3) | 2);
    expect(decodePeerMessage(bytes)).toEqual({ ok: true, payload: publicKey });
  });

  it('skips Message variants outside the slice', () => {
    // video_frame (field 6) is not in our message.proto.
    expect(decodePeerMessage(hex('32 00'))).toEqual({ ok: false, error: { kind: 'no-known-variant' } });
  });
});
