import {
  type ClientAccessTokenClaims,
  decodeClientAccessToken,
  encodeClientAccessToken,
} from './client-access-token';
import { EventSigningKey } from './event-signing';

describe('client access token', () => {
  const key = EventSigningKey.generate();
  const claims: ClientAccessTokenClaims = {
    sessionId: '0b6f3c2e-8d0e-4f6a-9c59-0d2f3f1b7a11',
    userId: '6a1d9e4c-1f2b-4c3d-8e9f-a0b1c2d3e4f5',
    username: 'alice',
    expiresAt: 2_000_000_000_000,
    nonce: 'q1w2e3r4t5y6u7i8o9p0aa',
  };

  it('round-trips the claims under the key that signed them', () => {
    const token = encodeClientAccessToken(claims, key);
    expect(token.startsWith('sbc1.')).toBe(true);
    expect(decodeClientAccessToken(token, key.verifyKey, 1_000)).toEqual(claims);
  });

  it('refuses a token signed by another key, or with its claims changed', () => {
    const other = EventSigningKey.generate();
    expect(decodeClientAccessToken(encodeClientAccessToken(claims, other), key.verifyKey, 1_000)).toBe(
      'forged',
    );
    const [prefix, , signature] = encodeClientAccessToken(claims, key).split('.');
    const changedBody = Buffer.from(
      JSON.stringify({
        s: claims.sessionId,
        u: claims.userId,
        n: 'admin',
        e: claims.expiresAt,
        r: claims.nonce,
      }),
    ).toString('base64url');
    expect(decodeClientAccessToken(`${prefix}.${changedBody}.${signature}`, key.verifyKey, 1_000)).toBe(
      'forged',
    );
  });

  it('refuses an expired token', () => {
    expect(
      decodeClientAccessToken(encodeClientAccessToken(claims, key), key.verifyKey, claims.expiresAt + 1),
    ).toBe('expired');
  });

  it('calls anything else malformed without throwing', () => {
    for (const junk of ['', 'sbc1', 'sbc1..', 'x.y.z', 'sbc1.%%%.%%%', `sbc1.${'a'.repeat(2000)}.b`]) {
      expect(decodeClientAccessToken(junk, key.verifyKey, 1_000)).toMatch(/malformed|forged/);
    }
  });

  it('is not an event frame: a statement signature does not open as one', () => {
    const body = 'eyJ0eXBlIjoiRGV2aWNlQmFubmVkIn0';
    const statementSignature = key.signStatement('client access token v1', body).toString('base64');
    expect(
      key.verifyKey.open('client access token v1', JSON.stringify({ body, sig: statementSignature })),
    ).toEqual({
      problem: 'bad signature',
    });
  });
});
