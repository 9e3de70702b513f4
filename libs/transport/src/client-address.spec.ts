import { normalizeAddress, TrustedProxies } from './client-address';

describe('normalizeAddress', () => {
  it('unwraps IPv4-mapped IPv6 and leaves the rest alone', () => {
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('::1')).toBe('::1');
    expect(normalizeAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(normalizeAddress('192.0.2.1')).toBe('192.0.2.1');
  });
});

describe('TrustedProxies', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

  it('matches addresses and ranges of both families', () => {
    expect(proxies.has('10.1.2.3')).toBe(true);
    expect(proxies.has('::ffff:10.1.2.3')).toBe(true);
    expect(proxies.has('127.0.0.1')).toBe(true);
    expect(proxies.has('fd12::5')).toBe(true);
    expect(proxies.has('11.0.0.1')).toBe(false);
    expect(proxies.has('not an ip')).toBe(false);
  });

  it('ignores forwarding headers from an untrusted peer', () => {
    const endpoint = proxies.clientEndpoint(
      { remoteAddress: '198.51.100.9', remotePort: 5555 },
      { 'x-real-ip': '203.0.113.1', 'x-forwarded-for': '203.0.113.2' },
    );
    expect(endpoint).toEqual({ address: '198.51.100.9', port: 5555 });
  });

  it('ignores X-Real-IP unless configured, so a forged one through a passing proxy changes nothing', () => {
    const headers = { 'x-real-ip': '203.0.113.1', 'x-forwarded-for': '203.0.113.1, 203.0.113.2' };
    const socket = { remoteAddress: '::ffff:10.0.0.5', remotePort: 5555 };
    expect(proxies.clientEndpoint(socket, headers)).toEqual({ address: '203.0.113.2', port: 0 });
    expect(proxies.clientEndpoint(socket, { 'x-real-ip': '203.0.113.1' })).toEqual({
      address: '10.0.0.5',
      port: 5555,
    });
  });

  it('believes X-Real-IP from a trusted proxy when configured, with port 0 as upstream does', () => {
    const believing = new TrustedProxies(['10.0.0.0/8'], { realIpHeader: true });
    const endpoint = believing.clientEndpoint(
      { remoteAddress: '::ffff:10.0.0.5', remotePort: 5555 },
      { 'x-real-ip': '203.0.113.1', 'x-forwarded-for': '203.0.113.2' },
    );
    expect(endpoint).toEqual({ address: '203.0.113.1', port: 0 });
  });

  it('takes the right-most untrusted X-Forwarded-For hop, so a client cannot spoof the left end', () => {
    const endpoint = proxies.clientEndpoint(
      { remoteAddress: '10.0.0.5', remotePort: 5555 },
      { 'x-forwarded-for': '1.1.1.1, 203.0.113.7, 10.0.0.9' },
    );
    expect(endpoint).toEqual({ address: '203.0.113.7', port: 0 });
    // Two X-Forwarded-For headers reach Node joined, the client's forged one first.
    const joined = proxies.clientEndpoint(
      { remoteAddress: '10.0.0.5', remotePort: 5555 },
      { 'x-forwarded-for': ['9.9.9.9, 198.51.100.4'] },
    );
    expect(joined).toEqual({ address: '198.51.100.4', port: 0 });
  });

  it('stops at a hop it cannot read instead of skipping to one further left', () => {
    const endpoint = proxies.clientEndpoint(
      { remoteAddress: '10.0.0.5', remotePort: 5555 },
      { 'x-forwarded-for': '203.0.113.7, not-an-ip, 10.0.0.9' },
    );
    expect(endpoint).toEqual({ address: '10.0.0.5', port: 5555 });
    // Every hop a trusted proxy: the furthest one, as proxy-addr answers.
    expect(
      proxies.clientEndpoint(
        { remoteAddress: '10.0.0.5', remotePort: 1 },
        { 'x-forwarded-for': '10.0.0.7, 10.0.0.9' },
      ),
    ).toEqual({ address: '10.0.0.7', port: 0 });
  });

  it('falls back to the socket when the headers hold no address', () => {
    const endpoint = proxies.clientEndpoint(
      { remoteAddress: '10.0.0.5', remotePort: 5555 },
      { 'x-real-ip': 'garbage', 'x-forwarded-for': 'unknown' },
    );
    expect(endpoint).toEqual({ address: '10.0.0.5', port: 5555 });
  });

  it('trusts nobody when empty', () => {
    expect(new TrustedProxies([]).has('127.0.0.1')).toBe(false);
  });
});
