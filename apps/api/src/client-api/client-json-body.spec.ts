import { isClientApiPath } from './client-api-paths';
import { quoteUnsafeIntegers } from './client-json-body';

const parse = (json: string): unknown => JSON.parse(quoteUnsafeIntegers(json));

describe('quoteUnsafeIntegers', () => {
  it('keeps a u64 session_id exactly, as its decimal string', () => {
    expect(parse('{"session_id": 18446744073709551615, "conn_id": 7}')).toEqual({
      session_id: '18446744073709551615',
      conn_id: 7,
    });
    expect(parse('[-9223372036854775808,9007199254740993]')).toEqual([
      '-9223372036854775808',
      '9007199254740993',
    ]);
  });

  it('leaves safe integers, fractions, exponents and strings alone', () => {
    const json =
      '{"a":9007199254740991,"b":-9007199254740991,"c":0.12345678901234567890,' +
      '"d":1.5e12345678901234567,"e":"18446744073709551615","f":"x\\" 18446744073709551615","g":4288585374}';
    expect(quoteUnsafeIntegers(json)).toBe(json);
    expect(parse(json)).toMatchObject({ a: 9007199254740991, e: '18446744073709551615', g: 4288585374 });
  });

  it('quotes in nested values and after any whitespace, and never in keys', () => {
    expect(parse('{"12345678901234567890":{"v":[ 12345678901234567890\n]}}')).toEqual({
      '12345678901234567890': { v: ['12345678901234567890'] },
    });
  });

  it('stays linear on a body-limit-sized unterminated string (bodies come from anyone)', () => {
    const hostile = `"${'\\"'.repeat(512 * 1024)}`;
    const started = Date.now();
    expect(quoteUnsafeIntegers(hostile)).toBe(hostile);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('does not make invalid JSON valid', () => {
    expect(() => parse('{"a": 012345678901234567890}')).toThrow(SyntaxError);
    expect(() => parse('{"a": 18446744073709551615')).toThrow(SyntaxError);
    expect(() => parse('{"a": 1844674407370955161.}')).toThrow(SyntaxError);
  });
});

describe('isClientApiPath', () => {
  it.each([
    ['/api/devices/deploy', true],
    ['/api/audit/conn?x=1', true],
    ['/api/foo', true],
    ['/api/v1/users', false],
    ['/api/v1', false],
    ['/api/v1?x', false],
    ['/api/v10', true],
    ['/api/docs', false],
    ['/api/docs/json', false],
    ['/healthz', false],
    ['/', false],
    ['/apix', false],
  ])('%s → %s', (url, expected) => {
    expect(isClientApiPath(url)).toBe(expected);
  });
});
