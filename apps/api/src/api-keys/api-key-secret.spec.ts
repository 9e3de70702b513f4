import { createHash } from 'node:crypto';

import { apiKeyPrefixOf, hashApiKey, issueApiKey } from './api-key-secret';

describe('API key secrets', () => {
  it('issues sbk_<12 of a-z0-9>_<43 base64url> keys whose hash is SHA-256 of the whole key', () => {
    const issued = issueApiKey();
    expect(issued.key).toMatch(/^sbk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(issued.key.startsWith(`sbk_${issued.prefix}_`)).toBe(true);
    expect(issued.hash).toEqual(createHash('sha256').update(issued.key).digest());
    expect(hashApiKey(issued.key)).toEqual(issued.hash);
  });

  it('draws fresh prefixes and secrets', () => {
    const keys = Array.from({ length: 200 }, () => issueApiKey());
    expect(new Set(keys.map((key) => key.prefix)).size).toBe(200);
    expect(new Set(keys.map((key) => key.key.slice(17))).size).toBe(200);
  });

  it('finds the prefix of a well-formed key only, even when the secret holds underscores', () => {
    const secret = `${'_'.repeat(10)}${'a'.repeat(33)}`;
    expect(apiKeyPrefixOf(`sbk_abcdef012345_${secret}`)).toBe('abcdef012345');
    for (const bad of [
      '',
      'sbk_',
      `sbk_ABCDEF012345_${secret}`,
      `sbk_abcdef01234_${secret}`,
      `sbk_abcdef012345_${secret}x`,
      `sbk_abcdef012345-${secret}`,
      `xbk_abcdef012345_${secret}`,
      `sbk_abcdef012345_${secret.slice(1)}=`,
    ]) {
      expect(apiKeyPrefixOf(bad)).toBeNull();
    }
  });
});
