import { decodeConnAuditRef, generateIdentityKeyPair } from '@switchboard/crypto';
import { encodeClientAccessToken, EventSigningKey } from '@switchboard/events';

import { ConnAuditRefIssuer, NO_CONN_AUDIT_REFS } from './conn-audit-refs';

const NOW = 1_800_000_000_000;
const apiKey = EventSigningKey.generate();
const identity = generateIdentityKeyPair();
const issuer = new ConnAuditRefIssuer(apiKey.verifyKey, identity.secretKey);

function token(key = apiKey, expiresAt = NOW + 60_000): string {
  return encodeClientAccessToken(
    { sessionId: 'sess-1', userId: 'user-1', username: 'alice', expiresAt, nonce: 'bm9uY2U' },
    key,
  );
}

describe('ConnAuditRefIssuer', () => {
  it('turns a valid token into a reference signed by signal, naming the target', () => {
    const { ref, outcome } = issuer.issue(token(), '123456789', NOW);
    expect(outcome).toBe('issued');
    expect(decodeConnAuditRef(ref, identity.publicKey)).toEqual({
      sessionId: 'sess-1',
      userId: 'user-1',
      username: 'alice',
      targetId: '123456789',
      issuedAt: NOW,
    });
  });

  it.each([
    ['absent', '', 'absent'],
    ['forged (another key)', token(EventSigningKey.generate()), 'forged'],
    ['expired', token(apiKey, NOW - 1), 'expired'],
    ['malformed', 'not-a-token', 'malformed'],
    ['too long', `sbc1.${'a'.repeat(2000)}.x`, 'malformed'],
  ])('issues nothing for a token that is %s', (_what, value, outcome) => {
    expect(issuer.issue(value, '123456789', NOW)).toEqual({ ref: '', outcome });
  });

  it('issues nothing without keys, telling absent from unchecked', () => {
    expect(NO_CONN_AUDIT_REFS.issue('', 'x', NOW).outcome).toBe('absent');
    expect(NO_CONN_AUDIT_REFS.issue(token(), 'x', NOW)).toEqual({ ref: '', outcome: 'disabled' });
  });
});
