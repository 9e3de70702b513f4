import { escapeLike } from './device-admin.sql';

describe('escapeLike', () => {
  it('escapes %, _ and the escape character itself, so each matches only itself', () => {
    expect(escapeLike('50%_off')).toBe('50\\%\\_off');
    expect(escapeLike('a\\b')).toBe('a\\\\b');
    // Backslash first: escaping it after the others would double the escapes just added.
    expect(escapeLike('\\%')).toBe('\\\\\\%');
    expect(escapeLike('plain-text 123')).toBe('plain-text 123');
  });
});
