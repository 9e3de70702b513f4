import { decodeAddrMangle, encodeAddrMangle, normalizeSocketAddress, wallClockMicros } from './addr-mangle';

describe('AddrMangle (docs/protocol.md §3)', () => {
  it.each([
    ['192.168.16.32', 21116, 0x12345678n, 'f4a8f0ac682470fe8964'],
    ['1.2.3.4', 80, 0n, '50000000000002040608'],
    ['203.0.113.7', 54321, 0xfedcba98n, 'c98e3175b9fdc7769b0c02'],
  ])('%s:%i with tm=%s encodes as %s and decodes back', (address, port, tm, hex) => {
    expect(encodeAddrMangle({ address, port }, tm).toString('hex')).toBe(hex);
    expect(decodeAddrMangle(Buffer.from(hex, 'hex'))).toEqual({ family: 'IPv4', address, port });
  });

  it('uses only the low 32 bits of the clock', () => {
    const address = { address: '192.168.16.32', port: 21116 };
    expect(encodeAddrMangle(address, (7n << 32n) | 0x12345678n)).toEqual(
      encodeAddrMangle(address, 0x12345678n),
    );
  });

  it('strips trailing zero bytes, so the length varies with the clock', () => {
    const short = encodeAddrMangle({ address: '0.0.0.0', port: 0 }, 0n);
    expect(short.length).toBe(0);
    expect(decodeAddrMangle(short)).toEqual({ family: 'IPv4', address: '0.0.0.0', port: 0 });
  });

  it('round-trips random IPv4 addresses, ports and clocks', () => {
    for (let i = 0; i < 5000; i++) {
      const address = Array.from({ length: 4 }, () => Math.floor(Math.random() * 256)).join('.');
      const port = Math.floor(Math.random() * 0x10000);
      const tm = BigInt(Math.floor(Math.random() * 2 ** 52));
      const mangled = encodeAddrMangle({ address, port }, tm);
      expect(mangled.length).toBeLessThanOrEqual(16);
      expect(decodeAddrMangle(mangled)).toEqual({ family: 'IPv4', address, port });
    }
  });

  it('turns IPv4-mapped and IPv4-compatible addresses into IPv4 (upstream test_mangle2)', () => {
    const now = wallClockMicros();
    const v4 = { family: 'IPv4', address: '127.0.0.1', port: 8080 };
    expect(decodeAddrMangle(encodeAddrMangle({ address: '::ffff:127.0.0.1', port: 8080 }, now))).toEqual(v4);
    expect(decodeAddrMangle(encodeAddrMangle({ address: '::127.0.0.1', port: 8080 }, now))).toEqual(v4);
    expect(decodeAddrMangle(encodeAddrMangle({ address: '127.0.0.1', port: 8080 }, now))).toEqual(v4);
  });

  it('keeps [::1] and real IPv6 addresses as 16 address bytes and a LE port', () => {
    const loopback = encodeAddrMangle({ address: '::1', port: 8080 }, 123n);
    expect(loopback.toString('hex')).toBe('00000000000000000000000000000001901f');
    expect(decodeAddrMangle(loopback)).toEqual({ family: 'IPv6', address: '::1', port: 8080 });
    for (const address of ['ef::fe', '2001:db8::1', '2001:db8:ff::1111']) {
      const mangled = encodeAddrMangle({ address, port: 80 }, 99n);
      expect(mangled.length).toBe(18);
      expect(decodeAddrMangle(mangled)).toEqual({ family: 'IPv6', address, port: 80 });
    }
  });

  it('refuses lengths that encode nothing', () => {
    for (const length of [17, 19, 20, 32]) expect(decodeAddrMangle(Buffer.alloc(length, 1))).toBeUndefined();
    expect(decodeAddrMangle(Buffer.alloc(16, 0xff))).toMatchObject({ family: 'IPv4' });
  });

  it('refuses to encode what is not an address or a port', () => {
    expect(() => encodeAddrMangle({ address: 'example.com', port: 80 }, 0n)).toThrow(RangeError);
    expect(() => encodeAddrMangle({ address: '1.2.3.4', port: 65536 }, 0n)).toThrow(RangeError);
    expect(() => encodeAddrMangle({ address: '1.2.3.4', port: 1.5 }, 0n)).toThrow(RangeError);
  });

  it('reads the wall clock in microseconds', () => {
    const micros = wallClockMicros();
    expect(Number(micros / 1000n) - Date.now()).toBeLessThan(1000);
    expect(Number(micros / 1000n) - Date.now()).toBeGreaterThan(-1000);
  });
});

describe('normalizeSocketAddress', () => {
  it('is the IPv4-normalised key hbbs uses for its tcp_punch map', () => {
    expect(normalizeSocketAddress('::ffff:10.0.0.1', 5000)).toEqual({
      family: 'IPv4',
      address: '10.0.0.1',
      port: 5000,
    });
    expect(normalizeSocketAddress('::1', 5000)).toEqual({ family: 'IPv6', address: '::1', port: 5000 });
    expect(normalizeSocketAddress('2001:DB8:0::1', 1)).toEqual({
      family: 'IPv6',
      address: '2001:db8::1',
      port: 1,
    });
    expect(() => normalizeSocketAddress('nope', 1)).toThrow(RangeError);
  });
});
