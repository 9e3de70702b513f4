import { type ConnAuditRefClaims, decodeConnAuditRef, encodeConnAuditRef } from './conn-audit-ref';
import { generateIdentityKeyPair } from './identity-key';

describe('conn audit ref', () => {
  const signal = generateIdentityKeyPair();
  const claims: ConnAuditRefClaims = {
    sessionId: '0b6f3c2e-8d0e-4f6a-9c59-0d2f3f1b7a11',
    userId: '6a1d9e4c-1f2b-4c3d-8e9f-a0b1c2d3e4f5',
    username: 'alice',
    targetId: '123456789',
    issuedAt: 1_700_000_000_000,
  };

  it('round-trips under signal public key', () => {
    expect(decodeConnAuditRef(encodeConnAuditRef(claims, signal.secretKey), signal.publicKey)).toEqual(
      claims,
    );
  });

  it('refuses a reference another key signed, or one with a changed target', () => {
    const other = generateIdentityKeyPair();
    expect(decodeConnAuditRef(encodeConnAuditRef(claims, other.secretKey), signal.publicKey)).toBe('forged');
    const [, signature] = encodeConnAuditRef(claims, signal.secretKey).split('.');
    const moved = encodeConnAuditRef({ ...claims, targetId: '987654321' }, other.secretKey).split('.')[0];
    expect(decodeConnAuditRef(`${moved}.${signature}`, signal.publicKey)).toBe('forged');
  });

  it('calls junk malformed or forged without throwing', () => {
    for (const junk of ['', '.', 'abc', 'a.b', `${'a'.repeat(2000)}.b`]) {
      expect(decodeConnAuditRef(junk, signal.publicKey)).toMatch(/malformed|forged/);
    }
  });
});
