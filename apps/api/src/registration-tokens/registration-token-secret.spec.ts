import { createHash } from 'node:crypto';

import {
  DUMMY_TOKEN_HASH,
  generateRegistrationToken,
  registrationTokenPrefix,
  tokenMatches,
} from './registration-token-secret';

describe('registration token secrets', () => {
  it('generates sbr_<prefix>_<secret> with the SHA-256 of the whole token, different every time', () => {
    const first = generateRegistrationToken();
    const second = generateRegistrationToken();
    expect(first.token).toMatch(/^sbr_[0-9a-f]{12}_[0-9a-f]{64}$/);
    expect(first.token.startsWith(`sbr_${first.prefix}_`)).toBe(true);
    expect(first.hash).toEqual(createHash('sha256').update(first.token).digest());
    expect(second.token).not.toBe(first.token);
    expect(second.prefix).not.toBe(first.prefix);
  });

  it('reads the prefix of well-formed tokens only', () => {
    const { token, prefix } = generateRegistrationToken();
    expect(registrationTokenPrefix(token)).toBe(prefix);
    for (const bad of [
      '',
      'sbr_',
      `${token}x`,
      token.toUpperCase(),
      token.replace('sbr_', 'sbk_'),
      ` ${token}`,
    ]) {
      expect(registrationTokenPrefix(bad)).toBeNull();
    }
  });

  it('matches only the exact token, and never a stored hash of another length', () => {
    const { token, hash } = generateRegistrationToken();
    expect(tokenMatches(token, hash)).toBe(true);
    expect(tokenMatches(`${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`, hash)).toBe(false);
    expect(tokenMatches(token, DUMMY_TOKEN_HASH)).toBe(false);
    expect(tokenMatches(token, hash.subarray(0, 16))).toBe(false);
  });
});
