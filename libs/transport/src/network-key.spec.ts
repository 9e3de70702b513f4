import { rateLimitKey } from './network-key';

describe('rateLimitKey', () => {
  it('keeps IPv4 addresses as they are, IPv4-mapped ones included', () => {
    expect(rateLimitKey('203.0.113.7')).toBe('203.0.113.7');
    expect(rateLimitKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('puts every address of one IPv6 /64 under one key', () => {
    const a = rateLimitKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    const b = rateLimitKey('2001:0DB8:0001:0002::1');
    expect(a).toBe('2001:db8:1:2::/64');
    expect(b).toBe(a);
    expect(rateLimitKey('2001:db8:1:3::1')).not.toBe(a);
  });

  it('honours a configured prefix length, bits inside a group included', () => {
    expect(rateLimitKey('2001:db8:abcd:1234::1', 48)).toBe('2001:db8:abcd::/48');
    expect(rateLimitKey('2001:db8:abcd:12ff::1', 56)).toBe('2001:db8:abcd:1200::/56');
    expect(rateLimitKey('2001:db8::1', 128)).toBe('2001:db8::1');
  });

  it('shortens the longest zero run, as RFC 5952 asks', () => {
    expect(rateLimitKey('::1')).toBe('::/64');
    expect(rateLimitKey('fe80::1:2:3:4')).toBe('fe80::/64');
    expect(rateLimitKey('1:0:0:2:0:0:0:3', 128)).toBe('1:0:0:2:0:0:0:3');
    expect(rateLimitKey('1:0:0:2:0:0:0:3', 112)).toBe('1:0:0:2::/112');
  });

  it('returns what is not an IP address unchanged instead of throwing', () => {
    expect(rateLimitKey('')).toBe('');
    expect(rateLimitKey('not-an-ip')).toBe('not-an-ip');
    expect(rateLimitKey('fe80::1%eth0')).toBe('fe80::1%eth0');
    expect(rateLimitKey('1::2::3')).toBe('1::2::3');
  });
});
