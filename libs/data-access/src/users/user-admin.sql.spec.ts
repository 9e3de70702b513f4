import { escapeLikePattern } from './user-admin.sql';

describe('escapeLikePattern', () => {
  it.each([
    ['plain', 'plain'],
    ['100%', '100\\%'],
    ['a_b', 'a\\_b'],
    ['C:\\Users', 'C:\\\\Users'],
    ['%_\\', '\\%\\_\\\\'],
    ['', ''],
  ])('escapes %j as %j', (text, escaped) => {
    expect(escapeLikePattern(text)).toBe(escaped);
  });
});
