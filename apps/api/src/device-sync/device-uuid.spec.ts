import { uuidMatches } from './device-uuid';

describe('uuidMatches', () => {
  // 35 bytes, so the standard encoding ends in padding (Linux's /etc/machine-id is 32 hex digits).
  const stored = Buffer.from('4c4c4544-0042-3510-8051-b4c04f4d4e3', 'utf8');
  const presented = stored.toString('base64');

  it('is exercised with a padded encoding', () => {
    expect(presented).toMatch(/=$/);
  });

  it('accepts the base64 of the registered bytes', () => {
    expect(uuidMatches(stored, presented)).toBe(true);
  });

  it('refuses other bytes, the raw text, non-canonical base64 and a device without a uuid', () => {
    expect(uuidMatches(stored, Buffer.from('another machine').toString('base64'))).toBe(false);
    expect(uuidMatches(stored, stored.toString('utf8'))).toBe(false);
    expect(uuidMatches(stored, presented.replace(/=+$/, ''))).toBe(false);
    expect(uuidMatches(stored, '')).toBe(false);
    expect(uuidMatches(null, presented)).toBe(false);
  });
});
